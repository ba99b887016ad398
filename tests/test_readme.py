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
