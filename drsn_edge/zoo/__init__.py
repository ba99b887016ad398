"""Pretrained models shipped with the package (small files, not data), each with a model card.

A name (``cwru-wide``) stands for ``drsn_edge/zoo/<name>.safetensors``; its card ``<name>.md`` says what it trained
on, the recipe, its figures on held-out groups and what it is not for. ``benchmarks/train_zoo.py`` trains them all
again and writes the cards from its results file. Torch-free: listing reads the checkpoints' headers only.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from drsn_edge.errors import DrsnEdgeError

ZOO_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ZooModel:
    name: str
    summary: str  # one line: what it is for

    @property
    def path(self) -> Path:
        return ZOO_DIR / f"{self.name}.safetensors"

    @property
    def card(self) -> Path:
        return ZOO_DIR / f"{self.name}.md"


MODELS: dict[str, ZooModel] = {m.name: m for m in (
    ZooModel("cwru-wide", "wide DRSN-CW, 4 conditions (normal / inner race / ball / outer race), CWRU drive end + the "
                          "simulator: a start for fine-tuning (train --init) and for enrolment"),
    ZooModel("sim-paper", "DRSN-CW of the paper's size (Zhao et al. Table II), 4 conditions, the simulator only: small "
                          "and quick, for trying the tools offline"),
)}


def names() -> list[str]:
    return list(MODELS)


def zoo_model(name: str) -> ZooModel:
    """The zoo entry of ``name``; a one-line error listing the zoo for a name it does not have."""
    if name in MODELS:
        return MODELS[name]
    close = difflib.get_close_matches(name, MODELS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise DrsnEdgeError(f"no model {name!r} in the zoo{hint}; the zoo has: {', '.join(MODELS)} (drsn-edge models lists them)")


def resolve_model(text: str) -> Path:
    """A model argument as a path: an existing file or folder as given, else a zoo name. Text that looks like a path
    (a folder part or a suffix) is returned as given, for the caller's own 'no such file' message."""
    p = Path(text)
    if p.exists() or text in MODELS:
        return p if p.exists() else MODELS[text].path
    if p.suffix or len(p.parts) > 1 or "://" in text:
        return p
    return zoo_model(text).path
