"""The notebooks: exercises/ is exactly nbgrader's student version of solutions/, and each
notebook follows the course's structure (points, contracts, a check per function)."""
import json

import pytest

from autograder import exercise_db
from autograder.release import release
from tests.conftest import (EXERCISES, SOLUTIONS, cell_source, nbgrader_meta, read_notebook,
                            solution_cells, graded_cells)


def _comparable(notebook):
    cells = [{"type": c["cell_type"], "source": cell_source(c),
              "nbgrader": nbgrader_meta(c)} for c in notebook["cells"]]
    return {"cells": cells, "kernelspec": notebook["metadata"].get("kernelspec")}


@pytest.mark.slow
def test_exercises_are_generated_from_solutions(tmp_path, assignments):
    """Fails when someone edits exercises/ by hand or forgets `python -m autograder release`."""
    release(tmp_path)
    for name in assignments:
        fresh = read_notebook(tmp_path / name / f"{name}.ipynb")
        committed = read_notebook(EXERCISES / name / f"{name}.ipynb")
        assert _comparable(committed) == _comparable(fresh), (
            f"exercises/{name} is out of date: run `make release` (python -m autograder release)")


def test_every_assignment_has_an_exercise_folder(assignments):
    assert assignments == sorted(p.name for p in EXERCISES.iterdir() if p.is_dir())
    assert assignments == sorted({info.assignment for info in exercise_db.values()})


@pytest.mark.parametrize("key", sorted(exercise_db))
def test_each_function_has_a_stub_and_graded_visible_and_hidden_tests(key):
    assignment, name = key.split(".")
    solution = read_notebook(SOLUTIONS / assignment / f"{assignment}.ipynb")
    exercise = read_notebook(EXERCISES / assignment / f"{assignment}.ipynb")
    assert name in solution_cells(solution)
    stub = cell_source(solution_cells(exercise)[name])
    assert f"def {name}(" in stub and '"""' in stub, "the stub states its contract in a docstring"
    assert "raise NotImplementedError()" in stub and "BEGIN SOLUTION" not in stub
    tests = {nbgrader_meta(c)["grade_id"]: c for c in graded_cells(solution)}
    visible, hidden = tests[f"test_{name}"], tests[f"test_{name}_hidden"]
    assert f'check("{key}", {name})' in cell_source(visible)
    assert f'check("{key}", {name}, hidden=True)' in cell_source(hidden)
    assert "BEGIN HIDDEN TESTS" in cell_source(hidden)
    assert nbgrader_meta(visible)["points"] >= 1 and nbgrader_meta(hidden)["points"] >= 1
    hidden_in_exercise = [c for c in graded_cells(exercise)
                          if nbgrader_meta(c)["grade_id"] == f"test_{name}_hidden"]
    assert "hidden=True" not in cell_source(hidden_in_exercise[0])


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*/*.ipynb")) + sorted(EXERCISES.glob("*/*.ipynb")),
                         ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_notebooks_are_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    assert all(not c.get("outputs") for c in notebook["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*/*.ipynb")), ids=lambda p: p.name)
def test_points_in_headings_match_the_tests(path):
    """'## Part A — `corr2d` (3 points)' must equal the points of corr2d's test cells."""
    import re
    notebook = read_notebook(path)
    points = {}
    for cell in graded_cells(notebook):
        name = nbgrader_meta(cell)["grade_id"].removeprefix("test_").removesuffix("_hidden")
        points[name] = points.get(name, 0) + nbgrader_meta(cell)["points"]
    headings = {}
    for cell in notebook["cells"]:
        match = re.search(r"## Part \w — `(\w+)` \((\d+) points\)", cell_source(cell))
        if match:
            headings[match[1]] = int(match[2])
    assert headings == points


def test_the_registry_knows_the_released_tests(assignments):
    """`autograder validate` checks a notebook against the released visible tests that the
    registry generates (a pip-installed course has no exercises/ folder): they are exactly the
    committed exercises' test cells, text included (an edited test cell is told by its text)."""
    from autograder.authoring import released_tests
    from autograder.job import source_tests

    for name in assignments:
        assert released_tests(name) == source_tests(EXERCISES / name / f"{name}.ipynb",
                                                    released=True), name
