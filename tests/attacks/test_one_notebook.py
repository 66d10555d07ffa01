"""One notebook, one grade (issue 15): graded through ``python -m autograder grade``.

One class, one worker: the notebooks are graded one after another, in the order of their
students' names, all in the same sandbox, and every hostile notebook is followed by an honest
classmate ("<attack>_next") who must keep full marks and no flag. The hostile ones may lose
their own points; none may change another grade, stop the class, stall it past its budget,
make the instructor's process compute without bound, or leave live markup in a page.
"""
import json
import re

import pytest

from tests.attacks import CH1, attack_notebook, start_class
from tests.attacks import ch01 as A
from tests.attacks import one_notebook as O
from tests.conftest import nbgrader_meta, points, total_points

pytestmark = pytest.mark.slow

FULL = total_points(CH1)
BUDGET = 30                 # --notebook-budget for this run, seconds (an honest one takes ~5 s)
CALL_LIMIT = 3


def _deep_metadata(depth=100_000):
    notebook = attack_notebook()
    text = json.dumps(notebook)
    nested = "[" * depth + "]" * depth
    return text.replace('"metadata": {', '"metadata": {"deep": ' + nested + ", ", 1)


def _many_cells(count=400_000):
    notebook = attack_notebook()
    notebook["cells"] += [{"cell_type": "code", "metadata": {}, "outputs": [],
                           "source": O.FAILING_CELL}] * count
    return json.dumps(notebook, separators=(",", ":"))


def _failing_cells(count=1500):
    notebook = attack_notebook()
    notebook["cells"] += [{"cell_type": "code", "execution_count": None, "metadata": {},
                           "outputs": [], "source": O.FAILING_CELL}] * count
    return notebook


def _sleepy_cells(count=60):
    notebook = attack_notebook()
    notebook["cells"] += [{"cell_type": "code", "execution_count": None, "metadata": {},
                           "outputs": [], "source": O.SLEEPY_CELL}] * count
    return notebook


def _markup():
    notebook = attack_notebook()
    notebook["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "id": "hostile-md",
                                 "source": O.HOSTILE_MARKDOWN})
    notebook["cells"].insert(2, {"cell_type": "raw", "id": "hostile-raw",
                                 "metadata": {"raw_mimetype": "text/html"},
                                 "source": "<script>window.__pwned=1</script>"})
    return notebook


# attack -> (its notebook, what it must score, flags it must carry)
ATTACKS = {
    "a_chmod_cwd": (lambda: attack_notebook(after=[("corr2d_strided", O.CHMOD_CWD)]),
                    FULL, set()),
    "b_share_files": (lambda: attack_notebook({
        "conv_output_size": O.SHARE_WRITE_CONV_OUTPUT_SIZE, "pad2d": O.SHARE_READ_PAD2D}),
        FULL, set()),
    "c_many_files": (lambda: attack_notebook(after=[("corr2d_strided", O.MANY_FILES)]),
                     FULL, set()),
    "d_sleepy_cells": (_sleepy_cells, None, {"timeout"}),
    "e_sleepy_calls": (lambda: attack_notebook({
        "conv_output_size": O.SLEEPY_CONV_OUTPUT_SIZE}), None, {"timeout"}),
    "f_failing_cells": (_failing_cells, FULL, set()),
    "g_huge_provided": (lambda: attack_notebook({"corr2d_strided": O.HUGE_PROVIDED_STRIDED}),
                        FULL, set()),
    "h_proc_mem": (lambda: attack_notebook({"corr2d": O.PROC_MEM_CORR2D}),
                   FULL - points(f"{CH1}.corr2d"), set()),
    "i_markup": (_markup, FULL, set()),
}
# notebooks the grader must refuse with a reason, the class going on
REFUSED = {
    "j_deep_metadata": (_deep_metadata, "nested more than"),
    "k_many_cells": (_many_cells, "cells; the grader reads at most"),
}
BAD_NAME = b"l_bad_name_\xff"


def start(root):
    """Write the class under ``root`` and start grading it (see `tests.attacks.start_class`)."""
    students = {}
    for name, (build, *_) in {**ATTACKS, **REFUSED}.items():
        students[name] = build()
        students[f"{name}_next"] = attack_notebook()
    (root / "submitted").mkdir()
    bad = root.joinpath("submitted").joinpath(BAD_NAME.decode("utf-8", "surrogateescape"))
    (bad / CH1).mkdir(parents=True)
    (bad / CH1 / f"{CH1}.ipynb").write_text(json.dumps(attack_notebook()))
    students["l_bad_name_next"] = attack_notebook()
    return start_class(root, students, "--notebook-budget", BUDGET,
                       "--call-time-limit", CALL_LIMIT)


@pytest.fixture(scope="module")
def run(attack_classes):
    return attack_classes["test_one_notebook"].result()


def test_the_class_is_graded(run):
    assert run.proc.returncode == 0, run.proc.stderr[-4000:]
    assert "Traceback" not in run.proc.stderr, run.proc.stderr[-4000:]


@pytest.mark.parametrize("student", [f"{name}_next" for name in [*ATTACKS, *REFUSED]]
                         + ["l_bad_name_next"])
def test_the_classmate_graded_next_keeps_full_marks(run, student):
    row = run.row(student)
    assert (row["status"], row["score"], row["flags"]) == ("graded", FULL, ""), row


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_each_attack_costs_only_its_own_points(run, student):
    _, score, flags = ATTACKS[student]
    row = run.row(student)
    assert row["status"] == "graded", row
    if score is not None:
        assert row["score"] == score, row
    assert flags <= run.flags(student), row


@pytest.mark.parametrize("student", sorted(REFUSED))
def test_unreadable_notebooks_are_refused_with_a_reason(run, student):
    row = run.row(student)
    assert row["status"] == "could not be graded", row
    assert REFUSED[student][1] in row["reason"], row


def test_a_folder_name_that_is_not_utf8_is_listed_not_fatal(run):
    name = BAD_NAME.decode("utf-8", "backslashreplace")
    row = run.row(name)
    assert row["status"] == "could not be graded" and "not valid UTF-8" in row["reason"], row


def test_budgets_bound_the_run(run):
    """Each sleeper stops at its budget (it asked for ~59 min of cells, ~67 min of calls), and
    the run takes no more than its notebooks' own grading time plus a bounded overhead
    (starting, planning, recording, feedback, the report), however busy the machine is."""
    for student in ("d_sleepy_cells", "e_sleepy_calls"):
        row, result = run.row(student), run.result(student)
        assert row["score"] < FULL and "timeout" in run.flags(student), row
        assert result.seconds < BUDGET + 10, (student, result.seconds)
    graded = [key for key, row in run.rows.items() if row["status"] == "graded"]
    notebooks = sum(run.result(*key).seconds for key in graded)
    assert run.seconds < notebooks + 120, (run.seconds, notebooks)


def test_the_instructors_side_stays_small(run):
    """Refused `provided` calls never allocate: the command's peak memory stays far from 3 GiB."""
    assert run.max_rss_bytes < 3 * 2**30, run.max_rss_bytes / 2**30


def test_feedback_is_bounded_for_a_notebook_of_failing_cells(run):
    page = run.out / "feedback" / "f_failing_cells" / CH1 / f"{CH1}.html"
    assert page.is_file()
    assert page.stat().st_size < 4 * 2**20


def test_no_learner_markup_is_live_in_what_the_grader_wrote(run):
    pages = [run.out / "feedback" / "i_markup" / CH1 / f"{CH1}.html",
             run.private / "course" / "autograded" / "i_markup" / CH1 / f"{CH1}.ipynb",
             run.out / "grading-report.html"]
    for page in pages:
        text = page.read_text()
        if page.suffix == ".ipynb":       # what formgrader will render: the markdown sources
            cells = json.loads(text)["cells"]
            assert all(c["cell_type"] != "raw" for c in cells)
            text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
            text = re.sub(r"```.*?```", "", text, flags=re.S)     # code blocks show as text
            assert not re.search(r"<(img|script)\b", text), page
            assert "\\\\style" not in text and "\\\\href" not in text, page
        else:
            assert not re.search(r"<(img|script)\b[^>]*(onerror|beacon|__pwned)", text), page
            assert not re.search(r"""(style|href|src)=["'][^"']*(beacon|javascript:|url\()""",
                                 text), page
            assert "position:fixed" not in text.replace(" ", ""), page
