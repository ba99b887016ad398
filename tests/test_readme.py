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
