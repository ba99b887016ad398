"""README.md's results tables are generated from benchmarks/results and must stay in step with them."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import readme_tables  # noqa: E402


def test_readme_results_match_the_results_files():
    readme = (ROOT / "README.md").read_text()
    assert readme_tables.render(readme) == readme, "run: python benchmarks/readme_tables.py"


def test_every_section_file_is_a_results_file_with_a_table_or_summary():
    shown = [(name, *part) for _, name, *part in readme_tables.SECTIONS if (readme_tables.RESULTS / name).exists()]
    assert shown, "no results files found"
    for name, *part in shown:
        assert readme_tables.first_block((readme_tables.RESULTS / name).read_text(), *part), name


def test_the_layout_section_names_every_module_and_nothing_else():
    import re

    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    package = ROOT / "drsn_edge"
    modules = {p.relative_to(package).as_posix() for p in package.rglob("*.py") if p.name != "__init__.py"}
    named = set(re.findall(r"\b([a-z_0-9]+\.py)\b", block.split("\ntests/", 1)[0]))
    missing = sorted(m for m in modules if m.rsplit("/", 1)[-1] not in named)
    assert not missing, f"modules the README's Layout does not name: {missing}"
    stems = {m.rsplit("/", 1)[-1] for m in modules}
    assert not named - stems, f"the README's Layout names files that do not exist: {sorted(named - stems)}"
    folders = {p.relative_to(package).as_posix() for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert all(f"drsn_edge/{f}/" in block for f in folders), folders


def _readme_commands() -> list[str]:
    """Every `drsn-edge ...` command the README shows: in code blocks (continuation lines joined) and inline."""
    import re

    text = (ROOT / "README.md").read_text()
    lines, inside = [], False
    for line in text.replace("\\\n", " ").splitlines():
        if line.strip().startswith("```"):
            inside = not inside
        elif inside and line.strip().startswith("drsn-edge "):
            lines.append(line.strip())
    lines += re.findall(r"`(drsn-edge [^`]+)`", text)
    return [re.split(r"\s+#", line)[0] for line in lines]


def test_every_command_the_readme_shows_parses():
    """The README's `drsn-edge train ... -o mine.safetensors` was refused (train had only --out); placeholders in
    capitals (MODEL, CKPT) stand for a zoo model, and a fragment lacking its required arguments is not a command."""
    import contextlib
    import io
    import re
    import shlex

    from drsn_edge.cli.main import build_parser

    refused = []
    commands = _readme_commands()
    assert len(commands) > 30
    for command in commands:
        tokens = shlex.split(command)
        ends = [i for i, t in enumerate(tokens) if t in ("|", ">", "&&", "||", ";", "&")]
        tokens = ["sim-paper" if re.fullmatch(r"[A-Z][A-Z_]+", t) else t for t in tokens[1 : ends[0] if ends else None]]
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                build_parser().parse_args(tokens)
        except SystemExit as e:
            message = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else ""
            if e.code and "are required" not in message:
                refused.append(f"{command}: {message}")
    assert not refused, "\n".join(refused)
