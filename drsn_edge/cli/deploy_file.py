"""A deployment file (TOML): ``stream``'s options as keys, one ``[[input]]`` table per input.

The schema is ``stream``'s own parser: a key is a ``stream`` flag without its dashes (``max-latency-ms``, ``bearing``,
``mqtt``) with the same meaning, checked by the same types and choices, so there is no second list of options. Keys at
the top apply to every input; an ``[[input]]`` table names its ``input`` (a path, a glob, a folder, a manifest or a
live URL, or a list of them) and may override any per-input key (input, bearing, windows and alarm settings). The
model, the backend and the outputs belong to the whole deployment (top level only)::

    model = "/var/lib/drsn-edge/model.onnx"
    jsonl = "/var/log/drsn-edge/decisions.jsonl"
    mqtt = "mqtt://broker:1883"
    raise = 0.8

    [[input]]
    input = "tcp-listen://0.0.0.0:9000"
    stream-id = "pump-1"
    fs = 25600
    raw-channels = 2
    bearing = "6205"
    rpm = 1480

Every problem is one line naming the file, the line and the key.
"""

from __future__ import annotations

import argparse
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drsn_edge.bearing import bearing_from_text, check_speed
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.config import parse_channel_map, parse_duration
from drsn_edge.runtime.sinks.jsonl import parse_rotation

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (JetPack 6): the same parser, as a package
    import tomli as tomllib

#: ``stream``'s option groups that belong to one input; the rest (outputs, backend) belong to the deployment
PER_INPUT_GROUPS = ("input", "bearing evidence", "windows and batching", "decisions and alarms")
#: the positional arguments of ``stream``, as keys
POSITIONAL = ("model", "input")
#: keys that name files: a relative path is taken from the deployment file's folder (a service runs in /)
PATH_KEYS = ("model", "input", "jsonl", "report", "plot", "mqtt-password-file", "mqtt-ca", "mqtt-cert", "mqtt-key",
             "trt-cache", "time-column-never")


#: what a value must also be, beyond its type: checked per key, so that the problem names its line
VALUE_CHECKS = {"bearing": bearing_from_text, "channel-map": parse_channel_map, "jsonl-rotate": parse_rotation,
                "report-every": lambda v: parse_duration(v, "report-every"),
                "rpm": lambda v: check_speed(rpm=float(v)), "shaft-hz": lambda v: check_speed(shaft_hz=float(v))}


@dataclass
class Problem:
    where: str  # file:line
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.key}: {self.message}" if self.key else f"{self.where}: {self.message}"


@dataclass
class DeployFile:
    path: Path
    top: dict[str, Any]
    inputs: list[dict[str, Any]]
    lines: dict[tuple[int, str], int] = field(default_factory=dict)  # (input number or -1, key) -> line
    tables: list[int] = field(default_factory=list)  # the line of each [[input]] header
    others: list[tuple[int, str]] = field(default_factory=list)  # (line, name) of every other table

    def where(self, index: int = -1, key: str = "") -> str:
        line = self.lines.get((index, key)) or (self.tables[index] if 0 <= index < len(self.tables) else 1)
        return f"{self.path}:{line}"


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


def _locate(text: str) -> tuple[dict[tuple[int, str], int], list[int], list[tuple[int, str]]]:
    """Where each key is: (input number or -1, key) -> line; the [[input]] headers' lines; other tables (line, name)."""
    lines: dict[tuple[int, str], int] = {}
    tables: list[int] = []
    others: list[tuple[int, str]] = []
    index = -1
    for n, raw in enumerate(text.splitlines(), 1):
        if m := _HEADER.match(raw):
            if raw.strip().startswith("[[") and m.group(1) == "input":
                tables.append(n)
                index = len(tables) - 1
            else:
                others.append((n, m.group(1)))
            continue
        if m := _KEY.match(raw):
            lines.setdefault((index, m.group(1) or m.group(2) or m.group(3)), n)
    return lines, tables, others


def read_deploy_file(path: str | Path) -> DeployFile:
    """Read a deployment file; a missing file or a TOML syntax error is one line with the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DrsnEdgeError(f"deployment file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DrsnEdgeError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise DrsnEdgeError(f"{where}: TOML syntax error: {msg}") from None
    lines, tables, others = _locate(text)
    inputs = data.pop("input", [])
    if not isinstance(inputs, list):
        inputs = [inputs]
    return DeployFile(path, data, inputs, lines, tables, others)


class Schema:
    """``stream``'s options as deployment keys: their actions, and which belong to one input."""

    def __init__(self, stream_parser: argparse.ArgumentParser) -> None:
        self.parser = stream_parser
        self.actions: dict[str, argparse.Action] = {}
        self.per_input: set[str] = {"input"}
        for group in stream_parser._action_groups:
            for a in group._group_actions:
                for opt in a.option_strings:
                    if opt.startswith("--") and opt not in ("--help",):
                        self.actions[opt[2:]] = a
                        if group.title in PER_INPUT_GROUPS:
                            self.per_input.add(opt[2:])

    @property
    def keys(self) -> list[str]:
        return [*POSITIONAL, *self.actions]

    def tokens(self, key: str, value: Any) -> list[str]:
        """The command-line tokens of one key; a DrsnEdgeError names what is wrong with its value."""
        a = self.actions[key]
        flag = f"--{key}"
        if isinstance(a, argparse._StoreTrueAction):
            if not isinstance(value, bool):
                raise DrsnEdgeError(f"expected true or false, got {value!r}")
            return [flag] if value else []
        if isinstance(value, bool):
            raise DrsnEdgeError(f"expected a value ({a.metavar or key}), got {str(value).lower()}")
        if isinstance(value, list):
            if a.type not in (None, str) or not all(isinstance(v, (str, int)) for v in value):
                raise DrsnEdgeError(f"expected one value, got a list {value!r}")
            value = ",".join(str(v) for v in value)
        if a.type in (int, float) and not isinstance(value, (int, float)):
            raise DrsnEdgeError(f"expected a number, got {value!r} (quoted: a string)")
        if a.type is int and isinstance(value, float) and value != int(value):
            raise DrsnEdgeError(f"expected a whole number, got {value!r}")
        if isinstance(value, (dict,)):
            raise DrsnEdgeError(f"expected a value, got a table {value!r}")
        text = str(int(value)) if a.type is int and isinstance(value, float) else str(value)
        if a.type is not None:
            try:
                a.type(text)
            except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
                raise DrsnEdgeError(str(exc) or f"bad value {value!r}") from None
        if a.choices is not None and (a.type(text) if a.type else text) not in a.choices:
            raise DrsnEdgeError(f"{value!r} is not one of {', '.join(map(str, a.choices))}")
        if key in VALUE_CHECKS:
            VALUE_CHECKS[key](text)
        return [flag, text]

    def unknown(self, key: str, allowed: list[str]) -> str:
        near = difflib.get_close_matches(key, allowed, n=1)
        return f"unknown key{f'; did you mean {near[0]!r}?' if near else ''}"


def _anchored(f: DeployFile, key: str, value: Any) -> Any:
    """A relative path of a file key, from the deployment file's folder; URLs, ``-`` and ``none`` as they are."""
    if key not in PATH_KEYS or not isinstance(value, str) or value in ("-", "none") or "://" in value:
        return value
    p = Path(value).expanduser()
    return value if p.is_absolute() else str(f.path.parent / p)


def input_argvs(f: DeployFile, schema: Schema) -> tuple[list[list[str]], list[Problem]]:
    """One ``stream`` command line per ``[[input]]`` (top-level keys first, the table's own after), and every problem
    found in the keys and their values."""
    problems: list[Problem] = []
    for line, name in f.others:
        problems.append(Problem(f"{f.path}:{line}", f"[{name}]", "unknown table; inputs are [[input]] tables, every "
                                "other key sits at the top"))
    top_tokens: dict[str, list[str]] = {}
    for key, value in f.top.items():
        if isinstance(value, dict):
            continue  # an unknown table, said above
        if key == "input":
            continue
        if key == "model":
            if not isinstance(value, str) or not value:
                problems.append(Problem(f.where(-1, key), key, f"expected a model path or triton:// URL, got {value!r}"))
            continue
        if key not in schema.actions:
            problems.append(Problem(f.where(-1, key), key, schema.unknown(key, schema.keys)))
            continue
        try:
            top_tokens[key] = schema.tokens(key, _anchored(f, key, value))
        except DrsnEdgeError as exc:
            problems.append(Problem(f.where(-1, key), key, str(exc)))
    if "model" not in f.top:
        problems.append(Problem(f"{f.path}:1", "model", "missing: the model file (or triton://HOST:PORT/MODEL) to run"))
    if not f.inputs:
        problems.append(Problem(f"{f.path}:1", "input", "no input: add an [[input]] table with input = \"...\""))
    argvs = []
    for i, table in enumerate(f.inputs):
        if not isinstance(table, dict):
            problems.append(Problem(f.where(i), "input", "each input is a table ([[input]])"))
            continue
        tokens = dict(top_tokens)
        for key, value in table.items():
            if key == "input":
                continue
            if key not in schema.per_input:
                msg = ("belongs to the whole deployment: put it at the top, before the first [[input]]"
                       if key in schema.actions or key == "model" else schema.unknown(key, sorted(schema.per_input)))
                problems.append(Problem(f.where(i, key), key, msg))
                continue
            try:
                tokens[key] = schema.tokens(key, _anchored(f, key, value))
            except DrsnEdgeError as exc:
                problems.append(Problem(f.where(i, key), key, str(exc)))
        specs = table.get("input")
        if isinstance(specs, str):
            specs = [specs]
        if not specs or not isinstance(specs, list) or not all(isinstance(s, str) and s for s in specs):
            problems.append(Problem(f.where(i, "input"), "input", "missing: a path, glob, folder, manifest or live URL "
                                    "(or a list of them)"))
            continue
        argvs.append([_anchored(f, "model", str(f.top.get("model", ""))), *[_anchored(f, "input", s) for s in specs],
                      *[t for ts in tokens.values() for t in ts]])
    return argvs, problems
