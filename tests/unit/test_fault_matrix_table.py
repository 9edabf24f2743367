"""The README's fault-matrix table is the cells the workflow test runs (regenerate: python -m tests.fault_matrix)."""

from tests.fault_matrix import main, rendered, table
from tests.helpers import ROOT


def test_the_readme_prints_the_fault_matrix_the_tests_run():
    readme = (ROOT / "README.md").read_text()
    assert rendered(readme) == readme, "stale: run .venv/bin/python -m tests.fault_matrix README.md"
    assert main(["--check", str(ROOT / "README.md")]) == 0


def test_every_cell_is_one_row():
    from tests.fault_matrix import CELLS

    assert len(table().splitlines()) == len(CELLS) + 2
