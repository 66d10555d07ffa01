"""The trusted grader inside an instructor's own nbgrader course, both ways.

A course folder made by ``nbgrader quickstart`` (its example assignment removed) holds the
course's source notebook for chapter 1, released with ``nbgrader generate_assignment``, and three
submissions: a perfect one, an untouched stub, and one with a wrong ``conv_output_size`` (3 of
all its points but those of conv_output_size) whose test cells were all replaced by ``pass``.

* ``python -m autograder grade SUBMITTED --course-dir COURSE`` writes nbgrader's gradebook,
  autograded notebooks and feedback, so that ``nbgrader export`` (what formgrader reads) shows
  the grades; a second run regrades nothing.
* Stock ``nbgrader autograde`` / ``generate_feedback`` with the two lines of
  `autograder.nbgrader_config.use_trusted_grading` in the course's ``nbgrader_config.py``.
"""
import csv
import html
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.exercise_db import exercise_db
from tests.conftest import (REPO, SOLUTIONS, filled_exercise, nbgrader_meta, read_notebook,
                            solution_sources, write_submission)
from tests.implementations import load_all

pytestmark = pytest.mark.slow

A = "01_cross_correlation"
_WRONG = exercise_db["01_cross_correlation.conv_output_size"]   # the tamperer's wrong part
FULL = float(sum(i.points for i in exercise_db.values() if i.assignment == _WRONG.assignment))
EXPECTED = {"perfect": FULL, "untouched": 0.0, "tamperer": FULL - _WRONG.points}
TWO_LINES = ("from autograder.nbgrader_config import use_trusted_grading\n"
             "use_trusted_grading(get_config())\n")
BIN = Path(sys.executable).parent          # the venv's bin/: nbgrader, and the alembic it runs


def _env():
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in
                                                       [env.get("PYTHONPATH")] if p])
    return env


def _parallel(*commands, timeout=400):
    """Run ``(args, cwd)`` commands side by side; each must exit 0. Returns their CompletedProcess."""
    started = []
    try:
        for args, cwd in commands:
            out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
            started.append((args, out, err, subprocess.Popen(
                [str(a) for a in args], cwd=cwd, env=_env(), text=True, stdout=out, stderr=err,
                start_new_session=True)))
        for _, _, _, proc in started:
            proc.wait(timeout=timeout)
    finally:
        for _, _, _, proc in started:
            if proc.poll() is None:         # timed out or interrupted: its workers go too
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    done = []
    for args, out, err, proc in started:
        out.seek(0)
        err.seek(0)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out.read(), err.read()))
        out.close()
        err.close()
    for result in done:
        assert result.returncode == 0, (
            f"{result.args} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
            f"\n--- stderr\n{result.stderr[-6000:]}")
    return done


def _nbgrader(*args, cwd):
    return ([BIN / "nbgrader", *args], cwd)


def _tamperer_notebook():
    """The solution with a wrong conv_output_size, and every test cell's source ``pass``."""
    mutants, _ = load_all()
    sources = solution_sources(A)
    sources["conv_output_size"] = next(
        m for m in mutants if m.exercise == f"{A}.conv_output_size").source()
    notebook = filled_exercise(A, sources)
    for cell in notebook["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            cell["source"] = "pass"
    return notebook


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A quickstart course with chapter 1 as its only assignment, released, and 3 submissions."""
    base = tmp_path_factory.mktemp("nbgrader_course")
    _parallel(_nbgrader("quickstart", "course", "--force", cwd=base))
    course = base / "course"
    shutil.rmtree(course / "source" / "ps1")
    (course / "source" / A).mkdir()
    shutil.copy(SOLUTIONS / A / f"{A}.ipynb", course / "source" / A / f"{A}.ipynb")
    _parallel(_nbgrader("generate_assignment", A, cwd=course))
    assert (course / "release" / A / f"{A}.ipynb").is_file()
    submitted = course / "submitted"
    write_submission(submitted, "perfect", A, filled_exercise(A, solution_sources(A)))
    write_submission(submitted, "untouched", A, filled_exercise(A, {}))
    write_submission(submitted, "tamperer", A, _tamperer_notebook())
    return course


def _copy(template, name):
    course = template.parent / name
    shutil.copytree(template, course)
    return course


def _scores(course):
    """{student: total score} from the course's gradebook, read with nbgrader's API."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(A)}


def _grade_scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(A, A, student)
        return {g.name: (g.auto_score, g.max_score) for g in notebook.grades}


def _exported(course):
    """{student: raw_score} from the grades.csv ``nbgrader export`` wrote in the course folder."""
    with open(course / "grades.csv", newline="") as handle:
        return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)
                if row["assignment"] == A}


def _code(course, student):
    """The learner-code digest of a submission (part of its hidden seed)."""
    from autograder.job import learner_code_digest
    return learner_code_digest((course / "submitted" / student / A / f"{A}.ipynb").read_text())


def _secret(course):
    path = course / "course-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text().strip()


# --- both courses, graded side by side -----------------------------------------------------------

@pytest.fixture(scope="module")
def runs(template):
    """Course A graded twice by ``python -m autograder grade --course-dir``; course B, with the
    two lines in its nbgrader_config.py, by stock ``nbgrader autograde`` and
    ``generate_feedback``; then ``nbgrader export`` in both. Independent, so run side by side."""
    course_a, course_b = _copy(template, "course_a"), _copy(template, "course_b")
    assert not (course_b / "course-secret").exists()
    with open(course_b / "nbgrader_config.py", "a") as handle:
        handle.write("\n" + TWO_LINES)
    out = template.parent / "course_a_out"
    grade = ([sys.executable, "-m", "autograder", "grade", course_a / "submitted",
              "--course-dir", course_a, "--out", out / "grades.csv", "--workers", "2",
              "--no-progress"], template.parent)
    first, autograde = _parallel(grade, _nbgrader("autograde", A, cwd=course_b))
    scores_a = _scores(course_a)
    second, _ = _parallel(grade, _nbgrader("generate_feedback", A, cwd=course_b))
    _parallel(_nbgrader("export", cwd=course_a), _nbgrader("export", cwd=course_b))
    return {"a": (course_a, first, second, scores_a), "b": (course_b, autograde)}


# --- python -m autograder grade --course-dir ---------------------------------------------------

@pytest.fixture(scope="module")
def graded(runs):
    return runs["a"]


def test_grade_writes_the_courses_gradebook(graded):
    course, _, _, scores = graded
    assert scores == EXPECTED
    # the points are where formgrader shows them: per grade cell
    grades = _grade_scores(course, "tamperer")
    assert grades["test_conv_output_size"] == (0.0, _WRONG.visible_points)
    assert grades["test_conv_output_size_hidden"] == (0.0, _WRONG.hidden_points)
    assert sum(auto for auto, _ in grades.values()) == FULL - _WRONG.points


def test_only_the_flagged_notebook_needs_manual_grading_in_formgrader(graded):
    """The tamperer edited its test cells (flag ``tampered``): flagged, and every grade cell of it
    needs a person; the perfect and untouched notebooks need nobody (they all used to)."""
    from nbgrader.api import Gradebook

    course, *_ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        looks = {s: (gb.find_submission_notebook(A, A, s).flagged,
                     gb.find_submission_notebook(A, A, s).needs_manual_grade) for s in EXPECTED}
    assert looks == {"perfect": (False, False), "untouched": (False, False),
                     "tamperer": (True, True)}, looks


def test_grade_writes_autograded_notebooks_and_feedback(graded):
    course, *_ = graded
    for student in EXPECTED:
        autograded = course / "autograded" / student / A / f"{A}.ipynb"
        feedback = course / "feedback" / student / A / f"{A}.html"
        assert autograded.is_file(), autograded
        assert feedback.is_file() and feedback.stat().st_size > 0, feedback
    # the verdict is in the test cells' outputs, as nbgrader's own autograde would leave it
    cells = {nbgrader_meta(c).get("grade_id"): c for c in read_notebook(
        course / "autograded" / "tamperer" / A / f"{A}.ipynb")["cells"]}
    assert [o["output_type"] for o in cells["test_conv_output_size"]["outputs"]] == ["error"]
    assert [o["output_type"] for o in cells["test_corr2d"]["outputs"]] == ["stream"]


def test_nbgrader_export_lists_the_same_scores(graded):
    course, *_ = graded
    assert _exported(course) == EXPECTED


def test_grade_seeds_come_from_the_course_secret(graded):
    from autograder.job import student_seed

    course, *_ = graded
    secret = _secret(course)
    with open(course.parent / "course_a_out" / "grades.csv", newline="") as handle:
        seeds = {row["student_id"]: int(row["seed"]) for row in csv.DictReader(handle)}
    assert seeds == {s: student_seed(s, A, A, secret, _code(course, s)) for s in EXPECTED}


def test_grade_rerun_succeeds_and_regrades_nothing(graded):
    course, first, second, scores = graded
    assert "3 notebook(s) graded" in first.stdout, first.stdout
    assert "0 notebook(s) graded" in second.stdout and "3 unchanged" in second.stdout, \
        second.stdout
    assert _scores(course) == scores == EXPECTED


# --- stock nbgrader with use_trusted_grading ---------------------------------------------------

@pytest.fixture(scope="module")
def stock(runs):
    course, autograde = runs["b"]
    feedback = {s: (course / "feedback" / s / A / f"{A}.html").read_text() for s in EXPECTED}
    return course, autograde, feedback


def test_stock_autograde_scores(stock):
    course, *_ = stock
    assert _scores(course) == EXPECTED
    assert _exported(course) == EXPECTED


def test_stock_autograde_ignores_edited_test_cells(stock):
    course, *_ = stock
    submitted = read_notebook(course / "submitted" / "tamperer" / A / f"{A}.ipynb")
    tests = [c for c in submitted["cells"]
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    assert len(tests) == 10 and all(c["source"] == "pass" for c in tests)
    grades = _grade_scores(course, "tamperer")
    assert grades["test_conv_output_size"] == (0.0, _WRONG.visible_points)
    assert grades["test_conv_output_size_hidden"] == (0.0, _WRONG.hidden_points)
    hidden = exercise_db["01_cross_correlation.corr2d"].hidden_points
    assert grades["test_corr2d_hidden"] == (hidden, hidden)
    cells = {nbgrader_meta(c).get("grade_id"): c for c in read_notebook(
        course / "autograded" / "tamperer" / A / f"{A}.ipynb")["cells"]}
    assert 'check("01_cross_correlation.conv_output_size", conv_output_size)' in \
        "".join(cells["test_conv_output_size"]["source"])
    assert [o["output_type"] for o in cells["test_conv_output_size"]["outputs"]] == ["error"]


def _code_inputs(page):
    """The text of every code cell's input area in nbgrader's feedback HTML."""
    blocks = re.findall(r'<div class="input_area">(.*?)</div>\s*</div>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", b)) for b in blocks]


def test_stock_feedback_hides_hidden_tests_and_grader_frames(stock):
    course, _, feedback = stock
    autograded = (course / "autograded" / "untouched" / A / f"{A}.ipynb").read_text()
    assert "BEGIN HIDDEN TESTS" in autograded      # so feedback would show them unless cleared
    for student, page in feedback.items():
        assert "BEGIN HIDDEN TESTS" not in page, student
        code = _code_inputs(page)
        assert any('check("01_cross_correlation.corr2d", corr2d)' in c for c in code), student
        assert not [c for c in code if "hidden=True" in c], student
        for frame in ("autograder/checks.py", "Traceback (most recent call last)", 'File "'):
            assert frame not in page, (student, frame)
    text = {student: " ".join(page.split()) for student, page in feedback.items()}  # wrapped
    assert "corr2d is not implemented yet" in text["untouched"]
    assert "conv_output_size failed case" in text["tamperer"]


def test_stock_hidden_seed_comes_from_the_course_secret(stock):
    from autograder.job import student_seed

    course, _, feedback = stock
    secret = _secret(course)
    for student in ("untouched", "tamperer"):
        shown = set(map(int, re.findall(r"\(hidden, seed (\d+)", feedback[student])))
        expected = student_seed(student, A, A, secret, _code(course, student))
        assert shown == {expected}, (student, shown)
        assert expected != student_seed(student, A, A, "", _code(course, student))
