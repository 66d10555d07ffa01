"""`python -m autograder validate`: a learner's whole-notebook check from a terminal, as the
grader does it (its cells in a separate, guarded process, the visible tests checked outside it).
The grading pipeline is in test_grading.py."""
import subprocess
import sys

import pytest

from tests.conftest import REPO, nbgrader_meta, write_submission
from tests.test_grading import CH1, CH2, MUTANTS, _with

pytestmark = pytest.mark.slow


def test_validate_fails_loudly_on_an_unfinished_notebook(tmp_path):
    """Unlike `nbgrader validate`, the course's validate exits 1 and says what failed."""
    path = write_submission(tmp_path, "learner", CH2, _with(CH2, conv1x1=next(
        m for m in MUTANTS if m.exercise == f"{CH2}.conv1x1").source()))
    proc = subprocess.run([sys.executable, "-m", "autograder", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert "1 problem(s)" in proc.stdout and "conv1x1 failed case" in proc.stdout



def test_validate_passes_a_finished_notebook(tmp_path):
    path = write_submission(tmp_path, "learner", CH1, _with(CH1))
    proc = subprocess.run([sys.executable, "-m", "autograder", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "all tests pass" in proc.stdout



def test_validate_names_edited_tests_and_still_checks_the_rest(tmp_path):
    notebook = _with(CH1, conv_output_size=next(
        m for m in MUTANTS if m.exercise == f"{CH1}.conv_output_size").source())
    for cell in notebook["cells"]:
        if nbgrader_meta(cell).get("grade_id") == "test_corr2d":
            cell["source"] = "pass"
    path = write_submission(tmp_path, "learner", CH1, notebook)
    proc = subprocess.run([sys.executable, "-m", "autograder", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert "test cell test_corr2d (edited): the grader uses the original test" in proc.stdout
    assert "test_conv_output_size: conv_output_size failed case" in proc.stdout
    assert "2 problem(s)" in proc.stdout, proc.stdout



def test_validate_says_in_one_line_that_a_file_is_not_a_notebook(tmp_path):
    path = tmp_path / f"{CH1}.ipynb"
    path.write_text('{"cells": [')
    proc = subprocess.run([sys.executable, "-m", "autograder", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr == ""
    assert "is not a notebook that can be checked (Expecting value at line 1)" in proc.stdout
