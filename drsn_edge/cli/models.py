"""``drsn-edge models``: the pretrained models shipped with the package."""

from __future__ import annotations

import argparse

from drsn_edge.cli.parser import examples
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import read_description
from drsn_edge.zoo import MODELS, zoo_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the pretrained models shipped with drsn-edge, or show one's model card",
                       description="The zoo: pretrained checkpoints shipped with the package. Any command that takes a "
                                   "checkpoint takes a zoo name in its place (train --init, export, evaluate, adapt, "
                                   "enrol, bench).",
                       epilog=examples("drsn-edge models",
                                       "drsn-edge models cwru-wide",
                                       "drsn-edge train --data my-machine/ --init cwru-wide --out mine.safetensors"))
    p.add_argument("name", nargs="?", help="a zoo model: print its model card and file")
    p.set_defaults(func=run)


def _row(name: str) -> str:
    m = MODELS[name]
    if not m.path.is_file():
        raise DrsnEdgeError(f"zoo model {name}: {m.path} is missing from this installation (reinstall drsn-edge)")
    md = read_description(m.path)
    heads = [h for h in ("novelty", "noise") if getattr(md, h)]
    arch = f"{md.model.get('arch', '?')}/{md.model.get('preset', '?')}"
    size = m.path.stat().st_size / 1024
    return (f"{name:<10} {arch:<14} {len(md.class_names):>2} classes  {md.sample_rate:>7g} Hz  window {md.window:<5} "
            f"heads: {', '.join(heads) or 'none':<14} {size:6.0f} KiB  {m.summary}")


def run(args: argparse.Namespace) -> int:
    if args.name:
        m = zoo_model(args.name)
        print(m.card.read_text(encoding="utf-8") if m.card.is_file() else f"{m.name}: no model card")
        print(f"file: {m.path}")
        return 0
    for name in MODELS:
        print(_row(name))
    return 0
