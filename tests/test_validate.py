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


def _validate(path):
    return subprocess.run([sys.executable, "-m", "autograder", "validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def test_a_cell_that_compares_with_pytorch_is_a_note_not_a_problem(tmp_path):
    """A scratch cell printing F.conv2d beside the learner's corr2d (a natural habit): the
    grader switches conv2d off while it runs the notebook, so that cell gets no result, but it
    is not the graded function: validate passes, and says so in a note naming the line."""
    notebook = _with(CH1)
    at = next(i for i, c in enumerate(notebook["cells"])
              if nbgrader_meta(c).get("grade_id") == "corr2d")
    notebook["cells"].insert(at + 1, {
        "cell_type": "code", "execution_count": None, "id": "scratch", "metadata": {},
        "outputs": [], "source": "import torch.nn.functional as F\n"
                                 "x, k = torch.rand(5, 5), torch.rand(2, 2)\n"
                                 "print(F.conv2d(x[None, None], k[None, None]), corr2d(x, k))"})
    proc = _validate(write_submission(tmp_path, "learner", CH1, notebook))
    assert proc.returncode == 0, proc.stdout
    assert "all tests pass" in proc.stdout
    out = " ".join(proc.stdout.split())
    assert ("note: cell " in out and "This cell called aten.conv2d through line 3: "
            "print(F.conv2d(x[None, None], k[None, None]), corr2d(x, k))" in out), out
    assert "your function called" not in out and "problem" not in out


def test_a_forbidden_call_names_the_python_call_and_the_line(tmp_path):
    """im2col written with F.unfold (chapter 9 forbids aten.im2col): the message names F.unfold
    and the learner's line, not only the ATen operator."""
    notebook = _with("09_fast_convolution", im2col=(
        "import torch.nn.functional as F\n\n"
        "def im2col(input, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    return F.unfold(input, kernel_size, dilation=dilation, padding=padding,\n"
        "                    stride=stride)\n"))
    proc = _validate(write_submission(tmp_path, "learner", "09_fast_convolution", notebook))
    assert proc.returncode == 1
    out = " ".join(proc.stdout.split())
    assert ("im2col called the forbidden operation aten.im2col through F.unfold, line 4 in "
            "im2col: return F.unfold(input, kernel_size, dilation=dilation, padding=padding,"
            in out), out
