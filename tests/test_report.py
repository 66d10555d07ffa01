"""The instructor's report and the learner's feedback pages, on hand-made `NotebookResult`s."""
import base64
import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.instructor.feedback import render_markdown, write_feedback
from autograder.instructor.report import normalise_message, write_report
from autograder.result import FLAGS, CellProblem, NotebookResult
from autograder.result import TestOutcome as Outcome

REPO = Path(__file__).resolve().parent.parent
A1, A2 = "01_cross_correlation", "02_multichannel"
LONG = ("pad2d returned a tensor whose rows are shifted because the padding was applied on one side only "
        "instead of on each side as PyTorch counts it ") * 5 + "<end-of-long-message>"
assert len(LONG) > 600 and "\n" not in LONG


def wrong_values(seed, case, index, got, device):
    return (f"corr2d failed case {case} of 13 (hidden, seed {seed}, device {device}): the result differs "
            f"from the reference in {case + 1} of 12 elements; first at index {index}: got {got}, expected "
            f"{got * 2} (greatest absolute difference {got}, tolerance rtol=1e-05, atol=0.0001)\n"
            f"  The call: corr2d(x=float32 tensor of shape (4, {case + 2}), k=float32 tensor of shape (2, 2))\n"
            f"  Compared with: F.conv2d on (1, 1, H, W) tensors.\n"
            f"  Replay it: case = autograder.sample_input('01_cross_correlation.corr2d', {case}, seed={seed}, "
            f"hidden=True, device='{device}'); corr2d(*case.args, **case.kwargs)")


def a1_tests(corr2d_hidden=2.0, message="", pad_hidden=2.0, pad_message="", flags=()):
    ex = f"{A1}.corr2d"
    return [Outcome("test_corr2d", ex, False, 1, 1),
            Outcome("test_corr2d_hidden", ex, True, 2, corr2d_hidden, message, flags),
            Outcome("test_pad2d", f"{A1}.pad2d", False, 1, 1),
            Outcome("test_pad2d_hidden", f"{A1}.pad2d", True, 2, pad_hidden, pad_message)]


def results():
    return [
        NotebookResult("alice", A1, tests=a1_tests(), seed=11, devices=("cpu",)),
        NotebookResult("bob", A1, tests=a1_tests(0, wrong_values(123456, 3, (0, 1), 1.5, "cpu")), seed=123456),
        NotebookResult("carol", A1, tests=a1_tests(0, wrong_values(777, 7, (2, 0), 0.25, "cuda:0")), seed=777),
        NotebookResult("dave", A1, tests=a1_tests(0, wrong_values(4242, 1, (1, 3), 12.0, "cpu"),
                                                 0, LONG), seed=4242),
        NotebookResult("erin", A1, tests=a1_tests(0, "corr2d timed out after 10 s on case 2 of 13",
                                                  flags=("timeout",))),
        NotebookResult("frank", A1, tests=a1_tests(), tampered_cells=["test_pad2d_hidden", "test_corr2d"]),
        NotebookResult("grace", A2, tests=[Outcome("test_conv2d", f"{A2}.conv2d", False, 1, 0,
                                                       "conv2d: started a thread")],
                       cell_problems=[CellProblem("conv2d", "sandbox", "conv2d: started a thread")]),
        NotebookResult("heidi", A2, status="not submitted"),
        NotebookResult("ivan", A2, status="could not be graded", reason="the notebook is not valid JSON"),
    ]


def md(text, gid="md"):
    return {"cell_type": "markdown", "metadata": {"nbgrader": {"grade_id": gid, "grade": False}}, "source": text}


def code(text, gid, grade=False, solution=False, points=0):
    nbg = {"grade_id": gid, "grade": grade, "solution": solution, "points": points}
    return {"cell_type": "code", "metadata": {"nbgrader": nbg}, "source": text, "outputs": [],
            "execution_count": None}


def notebook():
    """Part A with visible and hidden tests; Part B's hidden test cell deleted by the learner."""
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        md("# 01 · Cross-correlation\n\nSee <script>alert(1)</script> and [the docs](https://pytorch.org)."),
        code("import torch", "setup"),
        md("## Part A — `corr2d`\n\n$$y[i, j] = \\sum_{a, b} x[i + a, j + b]\\, k[a, b],$$\n\n"
           "with $x_p$ padded and `cost $5` in code.", "part_corr2d"),
        code("def corr2d(x, k):\n    return x[:1] < 2", "corr2d", solution=True),
        code('check("01_cross_correlation.corr2d", corr2d)  # EDITED', "test_corr2d", grade=True, points=1),
        code("### BEGIN HIDDEN TESTS\ncheck('01_cross_correlation.corr2d', corr2d, hidden=True)\n"
             "### END HIDDEN TESTS", "test_corr2d_hidden", grade=True, points=2),
        md("## Part B — `pad2d`", "part_pad2d"),
        code("def pad2d(x, padding):\n    raise ValueError", "pad2d", solution=True),
        code('check("01_cross_correlation.pad2d", pad2d)', "test_pad2d", grade=True, points=1),
        md("## The end", "end"),
    ]}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = write_report(results(), tmp_path_factory.mktemp("r") / "out" / "report.html",
                        extra={"workers": 4, "wall time": "12.5 s"})
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    result = NotebookResult(
        "dave", A1, seed=4242, devices=("cpu", "cuda:0"),
        tests=a1_tests(0, wrong_values(4242, 3, (0, 1), 1.5, "cpu"), 0, LONG),
        cell_problems=[CellProblem("pad2d", "error", 'Traceback (most recent call last):\n  File "<cell>", '
                                   'line 2, in pad2d\n    raise ValueError\nValueError: padding must be >= 0'),
                       CellProblem("cell 99", "output", "printed 2 MB")],
        tampered_cells=["test_corr2d", "test_pad2d_hidden"])
    return write_feedback(result, notebook(), tmp_path_factory.mktemp("f") / "fb.html").read_text("utf-8")


def assert_offline(page):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"<script\b", page, re.I)  # no scripts at all, external or inline
    assert not re.search(r"@import|url\(", page)


def test_report_embeds_figures_and_loads_nothing(report):
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report)
    assert len(images) == 4  # a histogram and a pass-rate chart for each of the two assignments
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert_offline(report)
    assert "12.5 s" in report and "workers" in report


def test_report_totals_and_pass_rates(report):
    assert re.search(r"<td>graded</td><td class=\"num\">7</td>", report)
    assert re.search(r"<td>not submitted</td><td class=\"num\">1</td>", report)
    # A1: six graded notebooks; scores 6, 4, 4, 2, 4, 6 -> mean 4.33, median 4, max score 6
    assert re.search(rf"<td>{A1}</td>" + r'<td class="num">6</td>' * 2 + r'<td class="num">4.33</td>'
                     r'<td class="num">4</td><td class="num">6</td><td class="num">6</td>', report)
    assert re.search(r"<td>test_corr2d_hidden</td><td>corr2d: hidden cases</td><td>2 / 6</td><td>33%</td>",
                     report)


def test_report_groups_the_same_mistake(report):
    same = [wrong_values(1, 3, (0, 1), 1.5, "cpu"), wrong_values(99999, 12, (3, 2), 7e-3, "cuda:1")]
    assert normalise_message(same[0]) == normalise_message(same[1])
    assert "\n" not in normalise_message(same[0]) and "corr2d" in normalise_message(same[0])
    assert normalise_message(same[0]) != normalise_message("corr2d failed case 3 of 13: wrong dtype float64")
    row = re.search(r"<tr><td class=\"num\">(\d+)</td><td>01_cross_correlation</td><td>"
                    r"<div class=\"msg\">corr2d failed case &lt;i&gt; of &lt;n&gt;[^<]*</div></td><td>([^<]*)</td>",
                    report)
    assert row and row.group(1) == "3" and row.group(2) == "bob, carol, dave"
    assert "seed 123456" not in report
    assert "(visible or hidden, seed &lt;seed&gt;, device &lt;device&gt;)" in report


def test_report_groups_a_mistake_across_visible_and_hidden_tests(tmp_path):
    """The same wrong corr2d fails the visible and the hidden test: one group, each student once."""
    def both(seed):
        visible = wrong_values(seed, 2, (0, 1), 1.5, "cpu").replace("(hidden,", "(visible,")
        tests = a1_tests(0, wrong_values(seed, 3, (0, 1), 1.5, "cpu"))
        tests[0] = Outcome("test_corr2d", f"{A1}.corr2d", False, 1, 0, visible)
        return tests
    path = write_report([NotebookResult("bob", A1, tests=both(5)),
                         NotebookResult("carol", A1, tests=both(6))], tmp_path / "r.html")
    failures = path.read_text().split("<h2>Most common failures</h2>")[1].split("<h2>")[0]
    assert failures.count("<tr>") == 2, failures          # the header row and one group
    assert re.search(r'<td class="num">2</td>.*<td>bob, carol</td>', failures)


def test_report_messages_whole_and_escaped(report):
    assert html.escape(LONG) in report
    assert "<end-of-long-message>" not in report
    assert "white-space: pre-wrap; word-break: break-word" in report


def test_report_flags_and_ungraded(report):
    flagged = report.split("<h2>Flagged notebooks</h2>")[1].split("<h2>")[0]
    assert "erin" in flagged and html.escape(FLAGS["timeout"]) in flagged and "timed out after 10 s" in flagged
    assert "grace" in flagged and html.escape(FLAGS["sandbox"]) in flagged and "started a thread" in flagged
    assert "frank" in flagged and "test_pad2d_hidden, test_corr2d" in flagged
    assert "alice" not in flagged and "heidi" not in flagged
    missing = report.split("<h2>Not submitted (1)</h2>")[1].split("<h2>")[0]
    assert "heidi" in missing and "ivan" not in missing
    failed = report.split("<h2>Could not be graded (1)</h2>")[1]
    assert "ivan" in failed and "the notebook is not valid JSON" in failed


def test_feedback_names_every_test_in_notebook_order(feedback):
    titles = re.findall(r'<section class="test (passed|failed)" id="([^"]+)"><h3>([^<]+) ', feedback)
    assert [(s, g, t) for s, g, t in titles] == [
        ("passed", "test_corr2d", "corr2d: visible cases"), ("failed", "test_corr2d_hidden", "corr2d: hidden cases"),
        ("passed", "test_pad2d", "pad2d: visible cases"), ("failed", "test_pad2d_hidden", "pad2d: hidden cases")]
    assert feedback.index('id="test_pad2d_hidden"') < feedback.index("The end")  # end of its part
    assert "<h3>Test cell" not in feedback and "0 / 2 points" in feedback and "Score</td><td>2 / 6" in feedback
    assert html.escape(LONG) in feedback and "seed=4242" in feedback


def test_feedback_never_shows_test_source_or_tracebacks(feedback):
    for secret in ("BEGIN HIDDEN TESTS", "corr2d, hidden=True", "# EDITED", 'check("01_cross_correlation.pad2d"'):
        assert secret not in feedback
    assert "Traceback" not in feedback and 'File "&lt;cell&gt;"' not in feedback
    assert "ValueError: padding must be &gt;= 0" in feedback
    assert feedback.index("raise ValueError</code>") < feedback.index("padding must be")  # beneath its cell
    assert "printed 2 MB" in feedback  # a problem of no known cell is still shown
    assert "def corr2d(x, k):\n    return x[:1] &lt; 2" in feedback


def test_feedback_header_names_tampered_cells(feedback):
    note = re.search(r"<p class='note'><b>Test cells edited or deleted:</b> ([^<]*)</p>", feedback)
    assert note and "test_corr2d, test_pad2d_hidden" in note.group(1) and "original tests" in note.group(1)
    assert "4242" in feedback.split("<h1>")[1].split("</table>")[0] and "cpu, cuda:0" in feedback


def test_feedback_markdown_math_offline(feedback):
    assert feedback.count("<math") == 2 and '<math display="block">' in feedback
    assert "&#x02211;" in feedback  # the sum sign
    assert "<code>cost $5</code>" in feedback  # dollars in code are not math
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in feedback
    assert_offline(feedback)
    assert render_markdown(r"bad $\frac{1}{$ tex").count("<math") == 0
    assert "<code>\\frac{1}{</code>" in render_markdown(r"bad $\frac{1}{$ tex")


def test_feedback_without_a_notebook(tmp_path):
    page = write_feedback(NotebookResult("heidi", A2, status="not submitted"), None, tmp_path / "f.html")
    text = page.read_text("utf-8")
    assert "No notebook was submitted" in text and "not submitted" in text and "0 / 0" in text


def test_feedback_for_a_notebook_that_could_not_be_graded_says_so_once(tmp_path):
    """Not JSON: no test box claims a test cell was deleted, and the sentence is grammatical."""
    result = NotebookResult("ivan", A1, status="could not be graded", tests=a1_tests(0, "x", 0),
                            reason="the notebook is not valid JSON (line 1)")
    text = html.unescape(re.sub(r"<[^>]+>", " ", write_feedback(
        result, {"cells": []}, tmp_path / "f.html").read_text("utf-8")))
    assert "deleted" not in text and "was could not" not in text
    assert "This notebook could not be graded." in text and "not valid JSON (line 1)" in text
    assert "— (could not be graded)" in text and "0 / 6" not in text


def test_a_misnamed_notebook_is_named_in_the_reason(tmp_path):
    from autograder.instructor.grade import _misnamed
    folder = tmp_path / "s" / A1
    folder.mkdir(parents=True)
    assert "folder is empty" in _misnamed(folder, A1)
    (folder / "timestamp.txt").write_text("2025-03-01 10:00:00 UTC")
    (folder / "my_work.ipynb").write_text("{}")
    reason = _misnamed(folder, A1)
    assert f"no notebook {A1}.ipynb" in reason and "holds my_work.ipynb" in reason
    assert f"submit it as {A1}.ipynb" in reason and "timestamp" not in reason


def test_report_and_feedback_add_no_torch_import(tmp_path):
    """The two modules (and writing a page) import no torch, whatever `autograder/__init__` does:
    the subprocess loads them under a bare stand-in for the `autograder` package."""
    source = "".join((REPO / "autograder/instructor" / f).read_text() for f in ("report.py", "feedback.py"))
    assert not re.search(r"^\s*(import torch|from torch)", source, re.M)
    code = (f"import sys, types; pkg = types.ModuleType('autograder'); pkg.__path__ = [{str(REPO / 'autograder')!r}]; "
            "sys.modules['autograder'] = pkg; "
            "from autograder.instructor.report import write_report; "
            "from autograder.instructor.feedback import write_feedback; "
            "from autograder.result import NotebookResult as R; "
            f"write_report([R('a', 'x')], {str(tmp_path / 'r.html')!r}); "
            f"write_feedback(R('a', 'x'), None, {str(tmp_path / 'f.html')!r}); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_the_eta_counts_the_notebooks_still_running():
    """20 notebooks on 2 workers: 19 take 3 s, one runs on (a cell that never ends). When only
    it is left, 60 s in, the estimate is tens of seconds (not the 3 s a rate of finished
    notebooks gives) and never past the notebook budget."""
    from autograder.instructor.grade import Eta
    clock = [0.0]
    eta = Eta(20, 2, budget=120, now=lambda: clock[0])
    assert eta.seconds_left() is None and "measuring" in eta.text()
    clock[0] = 3.0
    eta.finished(0)
    assert eta.seconds_left() == (3 + 17 * 3) / 2     # one to start, 17 queued, 2 workers
    slow = 1                                     # started at 0, never ends
    for index in range(2, 20):                   # the other worker grades the rest, 3 s each
        clock[0] += 3.0
        eta.finished(index)
    assert list(eta.started) == [slow] and clock[0] == 57.0
    clock[0] = 60.0
    assert 30 <= eta.seconds_left() <= 60, eta.seconds_left()
    clock[0] = 110.0
    assert eta.seconds_left() == 10.0              # the budget (120 s) ends it by then
    eta.finished(slow)
    assert eta.seconds_left() == 0.0 and "0 running" in eta.text()
