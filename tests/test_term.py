"""A term of grading in a course made by ``nbgrader quickstart`` (issue: the gradebook is the record).

The course has two assignments (chapters 1 and 4; each with a due date, chapter 1's in the
past), a roster of 6 students imported with ``--roster`` (nbgrader's ``db student import``
format), of whom ``fay`` never submits, and nbgrader's own late-penalty plugin set to ``zero``
in the course's ``nbgrader_config.py``. ``bea`` submitted 33 h late with a 2-day extension
(on time); ``cal`` 33 h late without one (late: penalty = score, as nbgrader records it).

The term, each step through the real command and checked against nbgrader's own record
(``nbgrader export``, the gradebook):

1. grade the class: every rostered student in every output, ``fay`` "not submitted" with 0 of
   the assignment's points; lateness and penalty as nbgrader computes them; nothing "needs
   manual grading" but a flagged notebook;
2. an override (``--override ... --why``) and a comment written in formgrader show in the CSV,
   the report, the feedback (at the next run, without a regrade) and the gradebook (``nbgrader
   export`` for the override), and survive a forced regrade;
3. ``dan`` resubmits, graded from a folder holding only his notebook (and ``eve`` regraded
   with ``--student``): nobody leaves the CSV or the report;
4. a run with nothing new starts no worker and takes seconds;
5. Ctrl-C with submissions not yet graded: they are "not graded yet", never "not submitted".
"""
import csv
import html
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.exercise_db import exercise_db
from autograder.instructor.record import read_csv
from tests.conftest import (REPO, SOLUTIONS, filled_exercise, solution_sources, total_points,
                            write_submission)
from tests.implementations import load_all
from tests.test_nbgrader_course import BIN, _env, _nbgrader, _parallel

pytestmark = pytest.mark.slow

A1, A2 = "01_cross_correlation", "04_dilated"
ROSTER = ["ann", "bea", "cal", "dan", "eve", "fay"]       # fay never submits
DUE = "2025-03-15 00:00:00 UTC"
LATE = "2025-03-16 09:12:00.000000 UTC"                    # 33.2 h after DUE
LATE_HOURS = 33.2


def _wrong(assignment, function):
    """The solution with one part replaced by its first mutant."""
    mutants, _ = load_all()
    sources = solution_sources(assignment)
    sources[function] = next(m for m in mutants
                             if m.exercise == f"{assignment}.{function}").source()
    return filled_exercise(assignment, sources)


def _grade(course, *extra, check=True, timeout=600, submitted=None):
    command = [sys.executable, "-m", "autograder", "grade", submitted or course / "submitted",
               "--course-dir", course, "--out", course / "out" / "grades.csv", "--workers", "2",
               "--no-progress", *extra]
    proc = subprocess.run([str(c) for c in command], cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def _rows(course):
    return {(r["student_id"], r["assignment"]): r
            for r in read_csv(course / "out" / "grades.csv")}


def _export(course):
    """``nbgrader export``'s CSV (what formgrader and LMS plugins read): {(student, assignment):
    row}."""
    _parallel(_nbgrader("export", "--to", "export.csv", cwd=course))
    with open(course / "export.csv", newline="") as handle:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    _parallel(_nbgrader("quickstart", "course", "--force", cwd=base))
    course = base / "course"
    shutil.rmtree(course / "source" / "ps1")
    for assignment in (A1, A2):
        (course / "source" / assignment).mkdir()
        shutil.copy(SOLUTIONS / assignment / f"{assignment}.ipynb", course / "source" / assignment)
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    for assignment in (A1, A2):       # one at a time: both would create the new gradebook
        _parallel(_nbgrader("generate_assignment", assignment, cwd=course))
    import warnings

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning
    warnings.simplefilter("ignore", SAWarning)    # nbgrader's own, on every new submission
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(A1, duedate=DUE)
        gb.update_or_create_assignment(A2, duedate="2099-01-01 00:00:00 UTC")
    (course / "roster.csv").write_text("id,first_name,last_name,email\n" + "".join(
        f"{s},{s.title()},Student,{s}@example.org\n" for s in ROSTER))
    submitted = course / "submitted"
    perfect1, perfect2 = (filled_exercise(a, solution_sources(a)) for a in (A1, A2))
    for student in ("ann", "bea", "cal", "dan"):
        write_submission(submitted, student, A1, perfect1)
    write_submission(submitted, "eve", A1, _wrong(A1, "corr2d"))
    write_submission(submitted, "ann", A2, perfect2)
    for student in ("bea", "cal"):
        (submitted / student / A1 / "timestamp.txt").write_text(LATE + "\n")
    # bea's extension is in the gradebook before her submission is graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_student("bea")
        gb.update_or_create_submission(A1, "bea")
        gb.grant_extension(A1, "bea", days=2)
    first = _grade(course, "--roster", course / "roster.csv")
    return {"root": course, "first": first}


FULL1, FULL2 = total_points(A1), total_points(A2)
CORR2D = exercise_db[f"{A1}.corr2d"].points


def test_every_rostered_student_is_in_every_output(course):
    rows = _rows(course["root"])
    assert set(rows) == {(s, a) for s in ROSTER for a in (A1, A2)}
    fay = rows[("fay", A1)]
    assert fay["status"] == "not submitted" and fay["score"] == 0 and fay["max_score"] == FULL1
    assert rows[("bea", A2)]["status"] == "not submitted" and rows[("bea", A2)]["max_score"] == FULL2
    report = (course["root"] / "out" / "grading-report.html").read_text()
    assert all(student in report for student in ROSTER)


def test_late_work_is_recorded_as_nbgrader_records_it(course):
    rows, export = _rows(course["root"]), _export(course["root"])
    bea, cal, ann = rows[("bea", A1)], rows[("cal", A1)], rows[("ann", A1)]
    assert bea["hours_late"] in ("", None) and bea["score"] == FULL1        # extension
    assert float(cal["hours_late"]) == LATE_HOURS
    assert cal["score"] == 0 and float(cal["late_penalty"]) == FULL1       # penalty "zero"
    assert ann["hours_late"] in ("", None) and ann["submitted_at"] == ""
    for key, row in rows.items():
        if row["status"] == "graded":
            assert float(export[key]["score"]) == row["score"], key
            assert float(export[key]["late_submission_penalty"] or 0) == float(
                row["late_penalty"] or 0), key


def test_the_wide_csv_has_a_row_per_student_for_the_lms(course):
    root = course["root"]
    with open(root / "out" / "grades-wide.csv", newline="") as handle:
        wide = list(csv.DictReader(handle))
    assert list(wide[0]) == ["student_id", "first_name", "last_name", "email", A1, A2, "total",
                             "points_possible", "percentage"]
    assert [r["student_id"] for r in wide] == ROSTER
    assert (wide[0]["first_name"], wide[0]["email"]) == ("Ann", "ann@example.org")
    long = _rows(root)
    for r in wide:
        scores = [long[(r["student_id"], a)]["score"] for a in (A1, A2)]
        assert [float(r[A1]), float(r[A2])] == scores
        assert float(r["total"]) == sum(scores) and float(r["points_possible"]) == FULL1 + FULL2
        assert float(r["percentage"]) == round(100 * sum(scores) / (FULL1 + FULL2), 2)


def test_the_report_has_a_table_of_students_linking_their_feedback(course):
    root = course["root"]
    report = (root / "out" / "grading-report.html").read_text()
    students = report.split("<h2>Students (6)</h2>")[1].split("<h2>")[0]
    links = re.findall(r'<a href="([^"]+)">', students)
    assert len(links) == 6                                  # the graded notebooks
    for link in links:
        assert (root / "out" / link).is_file(), link
    assert "33.2 h late" in students


def test_only_flagged_work_needs_a_person_in_formgrader(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course['root'] / 'gradebook.db'}") as gb:
        for student in ("ann", "bea", "cal", "dan", "eve"):
            notebook = gb.find_submission_notebook(A1, A1, student)
            assert not notebook.needs_manual_grade and not notebook.flagged, student


@pytest.fixture(scope="module")
def overridden(course):
    root = course["root"]
    grade_id = "test_corr2d_hidden"
    before = _rows(root)[("eve", A1)]["score"]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:     # as formgrader writes it
        gb.find_comment("corr2d", A1, A1, "eve").manual_comment = COMMENT
        gb.db.commit()
    run = _grade(root, "--override", "eve", A1, grade_id, "1", "--why", "partial credit: "
                 "right idea, flipped kernel")
    shown = _feedback(root, "eve")                   # eve's notebook is not regraded by `run`
    forced = _grade(root, "--force", "--student", "eve")
    return {"root": root, "before": before, "run": run, "forced": forced, "grade_id": grade_id,
            "shown": shown}


COMMENT = "Flip the kernel <b>before</b> the loop & check k[::-1]."


def _feedback(root, student, assignment=A1):
    return html.unescape(
        (root / "out" / "feedback" / student / assignment / f"{assignment}.html").read_text())


def test_a_formgrader_comment_shows_everywhere_and_survives_a_regrade(overridden):
    root = overridden["root"]
    assert COMMENT in overridden["shown"]              # at the next run, without a regrade
    assert _rows(root)[("eve", A1)]["comments"] == f"corr2d: {COMMENT}"
    page = (root / "out" / "feedback" / "eve" / A1 / f"{A1}.html").read_text()
    assert "<b>before</b>" not in page                # text, not markup
    shown = _feedback(root, "eve")
    assert shown.index("def corr2d") < shown.index(COMMENT) < shown.index("corr2d: visible")
    report = html.unescape((root / "out" / "grading-report.html").read_text())
    assert f"comment on corr2d: {COMMENT}" in report
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert gb.find_comment("corr2d", A1, A1, "eve").manual_comment == COMMENT


def test_an_override_shows_everywhere_and_survives_a_regrade(overridden):
    root = overridden["root"]
    row = _rows(root)[("eve", A1)]
    assert "1 notebook(s) graded" in overridden["forced"].stdout
    assert row["score"] == overridden["before"] + 1
    assert "test_corr2d_hidden: 0 -> 1 (partial credit" in row["overrides"]
    assert float(_export(root)[("eve", A1)]["score"]) == row["score"]
    report = html.unescape((root / "out" / "grading-report.html").read_text())
    assert "partial credit: right idea" in report
    assert "partial credit: right idea" in _feedback(root, "eve")
    assert "partial credit: right idea" in overridden["shown"]


def test_a_wrong_override_is_refused_before_anything_changes(overridden):
    root = overridden["root"]
    proc = _grade(root, "--override", "eve", A1, "test_nope", "1", "--why", "x", check=False)
    assert proc.returncode == 2 and "has no test 'test_nope'" in proc.stderr
    proc = _grade(root, "--override", "eve", A1, "test_corr2d_hidden", "99", "--why", "x",
                  check=False)
    assert proc.returncode == 2 and "worth 0 to" in proc.stderr
    assert _rows(root)[("eve", A1)]["score"] == overridden["before"] + 1


def test_regrading_one_student_keeps_the_class(overridden):
    """dan resubmits; a folder holding only his new notebook is graded into the same outputs
    (``--student`` alone is the forced regrade of eve above)."""
    root = overridden["root"]
    before = _rows(root)
    for folder in ("resubmitted", "submitted"):       # the course's copy, as collect updates it
        write_submission(root / folder, "dan", A1, _wrong(A1, "corr2d"))
    run = _grade(root, submitted=root / "resubmitted")
    after = _rows(root)
    assert "1 notebook(s) graded" in run.stdout
    assert set(after) == set(before)
    assert after[("dan", A1)]["score"] == FULL1 - CORR2D
    assert {k: v for k, v in after.items() if k != ("dan", A1)} == {
        k: v for k, v in before.items() if k != ("dan", A1)}


def test_a_run_with_nothing_new_starts_no_worker(overridden):
    started = time.monotonic()
    run = _grade(overridden["root"], "--verbose")
    seconds = time.monotonic() - started
    assert "0 notebook(s) graded" in run.stdout and "worker" not in run.stderr, run.stdout
    assert "SAWarning" not in run.stderr and "Warning" not in run.stderr
    assert seconds < 30, seconds        # no worker, no torch: seconds, not the 38 s of a start


def test_an_interrupted_run_calls_nothing_missing(overridden):
    root = overridden["root"]
    for student in ("bea", "cal", "dan", "eve"):     # seconds each, one at a time
        write_submission(root / "submitted", student, A2,
                         filled_exercise(A2, solution_sources(A2)))
    command = [sys.executable, "-m", "autograder", "grade", root / "submitted",
               "--course-dir", root, "--out", root / "out" / "grades.csv", "--workers", "1",
               "--no-progress"]
    proc = subprocess.Popen([str(c) for c in command], cwd=REPO, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    feedback = root / "out" / "feedback"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(feedback.glob(f"*/{A2}/*.html"))[1:]:
        time.sleep(0.2)
    assert proc.poll() is None, "grading ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130
    rows = _rows(root)
    waiting = [k for k, r in rows.items() if r["status"] == "not graded yet"]
    assert waiting and all(k[1] == A2 for k in waiting)
    assert {k for k, r in rows.items() if r["status"] == "not submitted"} == {
        ("fay", A1), ("fay", A2)}
    assert "not graded yet" in stdout
