"""The instructor's pipeline, end to end: `python -m autograder grade` on a class of submissions.

One grading run (module fixture, two local workers) covers a whole class: perfect and untouched
notebooks and mutants of every assignment, forbidden calls, tampering, hangs, crashes, broken
files and edited tests (correct notebooks in other styles, graded the same way, are
`tests/test_corpus_cli.py`'s). Each test then reads one student's row of the grades
CSV, the summary, the feedback or the report. Attacks on the sandbox itself are in
test_adversarial.py; stock-nbgrader courses in test_nbgrader_course.py.
"""
import hashlib
import html
import re
import subprocess
import sys

import pytest

from autograder.job import learner_code_digest, student_seed
from autograder.instructor.record import read_csv
from tests.conftest import (REPO, SOLUTIONS, filled_exercise, nbgrader_meta, points,
                            read_notebook, solution_sources, summary_block, total_points,
                            write_submission)
from tests.implementations import load_all

pytestmark = pytest.mark.slow

MUTANTS, ALTERNATES = load_all()
CH1, CH2 = "01_cross_correlation", "02_multichannel"
ALL = sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())
FULL = total_points(CH1)     # 01_cross_correlation, where the special cases are graded

CH1_STRIDED_OWN_HELPERS = '''
def corr2d_strided(x, k, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    windows = F.pad(x, (pw, pw, ph, ph)).unfold(0, k.shape[0], sh).unfold(1, k.shape[1], sw)
    return torch.einsum("ijab,ab->ij", windows, k)
'''


def _implementations(table, assignment, index):
    """{function: source} taking the index-th implementation of each function (cycling)."""
    chosen = {}
    for name in solution_sources(assignment):
        options = [i for i in table if i.exercise == f"{assignment}.{name}"]
        chosen[name] = options[index % len(options)].source()
    return chosen


def _with(assignment, **replacements):
    """The solution code, with some functions' cells replaced by other source."""
    sources = solution_sources(assignment)
    sources.update(replacements)
    return filled_exercise(assignment, sources)


def _class(root):
    """Write the class's submissions under root."""
    solution = solution_sources(CH1)
    # conv_output_size is the one function no other depends on: a wrong one costs 3 points.
    wrong = next(m for m in MUTANTS if m.exercise == f"{CH1}.conv_output_size").source()
    own_convolve2d = next(a for a in ALTERNATES if a.exercise == f"{CH1}.convolve2d").source()

    def submit(student, assignment, notebook):
        write_submission(root, student, assignment, notebook)

    for assignment in ALL:
        submit("perfect", assignment, filled_exercise(assignment, solution_sources(assignment)))
        submit("untouched", assignment, filled_exercise(assignment, {}))
        for i in range(3):
            submit(f"mutant_{i}", assignment,
                   filled_exercise(assignment, _implementations(MUTANTS, assignment, i)))
    submit("source_notebook", CH1, read_notebook(SOLUTIONS / CH1 / f"{CH1}.ipynb"))
    submit("forbidden", CH1, _with(CH1, corr2d='''
def corr2d(x, k):
    return torch.nn.functional.conv2d(x[None, None], k[None, None])[0, 0]
''', convolve2d=own_convolve2d, corr2d_strided=CH1_STRIDED_OWN_HELPERS))
    submit("forbidden_swallowed", CH1, _with(CH1, corr2d='''
def corr2d(x, k):
    try:
        return torch.ops.aten.convolution(x[None, None], k[None, None], None, [1, 1], [0, 0],
                                          [1, 1], False, [0, 0], 1)[0, 0]
    except BaseException:
        kh, kw = k.shape
        return torch.einsum("ijab,ab->ij", x.unfold(0, kh, 1).unfold(1, kw, 1), k)
''', convolve2d=own_convolve2d, corr2d_strided=CH1_STRIDED_OWN_HELPERS))
    tamperings = {   # tricks that fooled the checks when they ran inside the learner's kernel
        "tamper_allclose": "torch.allclose = lambda *args, **kwargs: True",
        "tamper_assert_close": "torch.testing.assert_close = lambda *args, **kwargs: None",
        "tamper_library": ("import sys, types\nfake = types.ModuleType('autograder')\n"
                           "fake.check = lambda *a, **k: None\nsys.modules['autograder'] = fake\n"
                           "check = lambda *a, **k: None"),
        "tamper_exceptions": ("get_ipython().set_custom_exc((BaseException,), "
                              "lambda *args, **kwargs: None)\n"
                              "get_ipython().showtraceback = lambda *args, **kwargs: None"),
    }
    for student, code in tamperings.items():
        submit(student, CH1, _with(CH1, conv_output_size=wrong + "\n" + code + "\n"))
    submit("endless_cell", CH1, _with(CH1, pad2d='''
import time
while True:
    try:
        time.sleep(0.1)
    except KeyboardInterrupt:
        pass
''' + solution["pad2d"]))
    submit("endless_function", CH1, _with(CH1, conv_output_size='''
def conv_output_size(i, k, s=1, p=0, d=1):
    while True:
        try:
            pass
        except BaseException:
            pass
'''))
    submit("crash", CH1, _with(CH1, convolve2d=solution["convolve2d"] + "\nimport os\nos._exit(3)\n"))
    submit("import_error", CH1, _with(CH1, conv_output_size="import no_such_module\n"
                                      + solution["conv_output_size"]))
    submit("invalid_json", CH1, '{"cells": [{"cell_type": "code", "source": ')
    (root / "no_notebook" / CH1).mkdir(parents=True)
    deleted = _with(CH1, conv_output_size=wrong)
    deleted["cells"] = [c for c in deleted["cells"] if not nbgrader_meta(c).get("grade")]
    submit("deleted_tests", CH1, deleted)
    edited = _with(CH1, conv_output_size=wrong)
    for cell in edited["cells"]:
        if nbgrader_meta(cell).get("grade"):
            cell["source"] = "pass"
    submit("edited_tests", CH1, edited)


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _grade_command(submitted, out, private, *extra):
    return [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out),
            "--gradebook", str(private / "gradebook.db"), "--timeout", "15",
            "--call-time-limit", "3", "--workers", "2", "--verbose", *extra]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    submitted = root / "submitted"
    _class(submitted)
    before = _digest(submitted)
    out = root / "out" / "grades.csv"
    command = _grade_command(submitted, out, root / "private")
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1800)
    rows = read_csv(out) if out.exists() else []
    return {"proc": proc, "rows": {(r["student_id"], r["assignment"]): r for r in rows},
            "root": root, "out": out, "command": command, "submitted": submitted,
            "unchanged": before == _digest(submitted), "summary": proc.stdout}


def row(graded, student, assignment=CH1):
    return graded["rows"][(student, assignment)]


def score(graded, student, assignment=CH1):
    return row(graded, student, assignment)["score"]


def maximum(graded, assignment):
    return row(graded, "perfect", assignment)["max_score"]


def test_the_command_exits_0_and_writes_the_grades(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-3000:]
    header = graded["out"].read_text().splitlines()[0]
    assert header == ("assignment,student_id,status,score,max_score,late_penalty,submitted_at,"
                      "hours_late,overrides,comments,reason,flags,seed")


def test_submitted_files_are_not_modified(graded):
    assert graded["unchanged"]


@pytest.mark.parametrize("assignment", ALL)
def test_solutions_get_full_marks(graded, assignment):
    assert score(graded, "perfect", assignment) == maximum(graded, assignment) > 0


def test_the_source_notebook_itself_gets_full_marks(graded):
    assert score(graded, "source_notebook") == FULL


@pytest.mark.parametrize("assignment", ALL)
def test_untouched_exercises_get_zero(graded, assignment):
    assert score(graded, "untouched", assignment) == 0
    assert row(graded, "untouched", assignment)["status"] == "graded"


@pytest.mark.parametrize("assignment", ALL)
@pytest.mark.parametrize("index", range(3))
def test_mutants_lose_every_point_of_their_function(graded, assignment, index):
    assert score(graded, f"mutant_{index}", assignment) == 0


@pytest.mark.parametrize("student", ["forbidden", "forbidden_swallowed"])
def test_a_forbidden_call_costs_that_function_only(graded, student):
    assert score(graded, student) == FULL - points(f"{CH1}.corr2d")
    assert re.search(r"forbidden operation aten\.conv", _student_summary(graded, student))
    assert "forbidden" in row(graded, student)["flags"]


@pytest.mark.parametrize("student", ["tamper_allclose", "tamper_assert_close", "tamper_library",
                                     "tamper_exceptions"])
def test_tampering_with_the_checks_changes_nothing(graded, student):
    """Each notebook has a wrong conv_output_size plus a trick; the verdict is made elsewhere."""
    assert score(graded, student) == FULL - points(f"{CH1}.conv_output_size")


def test_an_endless_cell_costs_only_what_depends_on_it(graded):
    """pad2d's cell never ends (it even swallows the interrupt): pad2d loses its points, and
    everything else is graded (corr2d_strided uses `provided.pad2d`, not the learner's)."""
    assert score(graded, "endless_cell") == FULL - points(f"{CH1}.pad2d")
    assert "ran longer than 15 s" in _student_summary(graded, "endless_cell")
    assert "timeout" in row(graded, "endless_cell")["flags"]


def test_an_endless_function_costs_only_its_tests(graded):
    assert score(graded, "endless_function") == FULL - points(f"{CH1}.conv_output_size")
    assert "did not return within 3 s" in _student_summary(graded, "endless_function")
    assert "timeout" in row(graded, "endless_function")["flags"]


def test_a_process_crash_costs_only_what_depends_on_it(graded):
    """os._exit in convolve2d's cell: a new process runs the other cells and grading goes on."""
    assert score(graded, "crash") == FULL - points(f"{CH1}.convolve2d")
    assert "crash" in row(graded, "crash")["flags"]


def test_an_import_error_costs_only_that_cell(graded):
    assert score(graded, "import_error") == FULL - points(f"{CH1}.conv_output_size")
    assert "ModuleNotFoundError" in _student_summary(graded, "import_error")


def test_an_invalid_notebook_is_reported_not_scored_zero(graded):
    record = row(graded, "invalid_json")
    assert record["status"] == "could not be graded" and record["score"] is None
    assert "not valid JSON" in record["reason"]


def test_a_missing_notebook_is_reported(graded):
    record = row(graded, "no_notebook")
    assert record["status"] == "could not be graded"
    assert "no notebook 01_cross_correlation.ipynb" in record["reason"]


def test_students_without_a_submission_are_listed_as_not_submitted(graded):
    """The class table covers every student and assignment the course knows (here: this run's,
    on a new gradebook); a missing notebook is 0 of the assignment's points."""
    record = row(graded, "forbidden", CH2)
    assert record["status"] == "not submitted" and record["score"] == 0
    assert record["max_score"] == total_points(CH2)
    students = {s for s, _ in graded["rows"]}
    assignments = {a for _, a in graded["rows"]}
    assert students == {p.name for p in graded["submitted"].iterdir()}
    assert assignments == set(ALL)
    assert len(graded["rows"]) == len(students) * len(assignments)


@pytest.mark.parametrize("student", ["deleted_tests", "edited_tests"])
def test_deleted_or_edited_tests_change_nothing_and_are_flagged(graded, student):
    """Only conv_output_size is wrong; the instructor's tests grade everything as usual."""
    assert score(graded, student) == FULL - points(f"{CH1}.conv_output_size")
    assert "tampered" in row(graded, student)["flags"]
    assert "test cells changed" in _student_summary(graded, student)


def test_feedback_names_tests_and_shows_failures_but_not_hidden_tests(graded):
    feedback = graded["root"] / "out" / "feedback"
    page = (feedback / "mutant_0" / CH1 / f"{CH1}.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "failed case" in text and "hidden, seed" in text
    assert "corr2d: hidden cases" in text and "Test cell" not in text
    assert f'check("{CH1}.conv_output_size", conv_output_size, hidden=True)' not in text
    assert "BEGIN HIDDEN TESTS" not in text
    assert "<math" in page and "$$" not in text
    assert (feedback / "perfect" / CH2 / f"{CH2}.html").is_file()


def test_the_report_is_written_next_to_the_grades(graded):
    page = (graded["out"].parent / "grading-report.html").read_text()
    assert "data:image/png;base64" in page
    for student in ("endless_cell", "edited_tests", "forbidden"):
        assert student in page


def test_hidden_seeds_come_from_the_course_secret(graded):
    """Seeds differ between students, and nobody without the secret can compute them."""
    secret_file = graded["root"] / "private" / "course-secret"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    seeds = {}
    for student in ("mutant_0", "mutant_1"):
        seeds[student] = int(row(graded, student)["seed"])
        code = learner_code_digest(
            (graded["submitted"] / student / CH1 / f"{CH1}.ipynb").read_text())
        assert seeds[student] == student_seed(student, CH1, CH1, secret, code)
        assert seeds[student] != student_seed(student, CH1, CH1, "", code)
    assert len(set(seeds.values())) == 2


def test_a_second_run_grades_only_what_changed(graded, tmp_path):
    """Unchanged notebooks are not regraded; a changed one is; the CSV stays the same otherwise."""
    write_submission(graded["submitted"], "mutant_0", CH1, filled_exercise(CH1, solution_sources(CH1)))
    before = {k: v for k, v in graded["rows"].items() if k != ("mutant_0", CH1)}
    proc = subprocess.run(graded["command"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^1 notebook\(s\) graded in .*, \d+ unchanged", proc.stdout, re.M)
    # --workers 2, one notebook to grade: one worker process (and sandbox) starts, not two
    assert "Grading 1 notebook(s) (" in proc.stderr and "with 1 worker(s)" in proc.stderr, \
        proc.stderr[-2000:]
    after = {(r["student_id"], r["assignment"]): r for r in read_csv(graded["out"])}
    assert after[("mutant_0", CH1)]["score"] == FULL
    assert {k: v for k, v in after.items() if k != ("mutant_0", CH1)} == before


def _student_summary(graded, student, assignment=CH1):
    return summary_block(graded["summary"], student, assignment)


def test_the_solutions_raise_no_flag(graded):
    """No false alarm (correct notebooks in other styles: `tests/test_corpus_cli.py`)."""
    for assignment in ALL:
        assert row(graded, "perfect", assignment)["flags"] == "", assignment
