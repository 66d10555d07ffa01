"""The instructor's pipeline, end to end: `python -m autograder grade` on a class of submissions.

One grading run (module fixture) covers a whole class: perfect and untouched notebooks, mutants
and alternates, forbidden calls, tampering, hangs, crashes, broken files and edited tests. Each
test then reads one student's row of nbgrader's CSV export, the summary, or the feedback.
"""
import hashlib
import html
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import (REPO, SOLUTIONS, filled_exercise, nbgrader_meta,
                            read_notebook, solution_sources, write_submission)
from tests.implementations import load_all

MUTANTS, ALTERNATES = load_all()
CH1, CH2 = "01_cross_correlation", "02_multichannel"
ALL = sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())
FULL = 15.0     # points of 01_cross_correlation, where the special cases are graded

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
    """Write the class's submissions under root; return {student: (assignment, expectation)}."""
    solution = solution_sources(CH1)
    # conv_output_size is the one function no other depends on: a wrong one costs 3 points.
    wrong = next(m for m in MUTANTS if m.exercise == f"{CH1}.conv_output_size").source()
    own_convolve2d = next(a for a in ALTERNATES if a.exercise == f"{CH1}.convolve2d").source()
    students = {}

    def submit(student, assignment, notebook):
        write_submission(root, student, assignment, notebook)

    for assignment in ALL:
        submit("perfect", assignment, filled_exercise(assignment, solution_sources(assignment)))
        submit("untouched", assignment, filled_exercise(assignment, {}))
        for i in range(3):
            submit(f"mutant_{i}", assignment,
                   filled_exercise(assignment, _implementations(MUTANTS, assignment, i)))
        for i in range(2):
            submit(f"alternate_{i}", assignment,
                   filled_exercise(assignment, _implementations(ALTERNATES, assignment, i)))
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
    tamperings = {
        "tamper_allclose": "torch.allclose = lambda *args, **kwargs: True",
        "tamper_assert_close": "torch.testing.assert_close = lambda *args, **kwargs: None",
        "tamper_library": ("try:\n    autograder.check = lambda *a, **k: None\nexcept Exception:\n"
                           "    pass\nvars(autograder)['check'] = lambda *a, **k: None\n"
                           "vars(autograder.checks)['check'] = lambda *a, **k: None\n"
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
    deleted = _with(CH1, conv_output_size=wrong)
    deleted["cells"] = [c for c in deleted["cells"] if not nbgrader_meta(c).get("grade")]
    submit("deleted_tests", CH1, deleted)
    edited = _with(CH1, conv_output_size=wrong)
    for cell in edited["cells"]:
        if nbgrader_meta(cell).get("grade"):
            cell["source"] = "pass"
    submit("edited_tests", CH1, edited)
    return students


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    submitted = root / "submitted"
    _class(submitted)
    before = _digest(submitted)
    out = root / "out" / "grades.csv"
    env_run = [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out),
               "--gradebook", str(root / "private" / "gradebook.db"), "--timeout", "15"]
    env = dict(os.environ, AUTOGRADER_TIME_LIMIT="3")
    proc = subprocess.run(env_run, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    from autograder.grading import read_grades
    rows = read_grades(out) if out.exists() else []
    scores = {(r["student_id"], r["assignment"]): r["score"] for r in rows}
    maxima = {r["assignment"]: r["max_score"] for r in rows}
    return {"proc": proc, "scores": scores, "maxima": maxima, "root": root, "out": out,
            "unchanged": before == _digest(submitted), "summary": proc.stdout}


def score(graded, student, assignment=CH1):
    return graded["scores"][(student, assignment)]


def test_the_command_exits_0_and_writes_the_export(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-3000:]
    header = graded["out"].read_text().splitlines()[0]
    assert header.startswith("assignment,duedate,timestamp,student_id")


def test_submitted_files_are_not_modified(graded):
    assert graded["unchanged"]


@pytest.mark.parametrize("assignment", ALL)
def test_solutions_get_full_marks(graded, assignment):
    assert score(graded, "perfect", assignment) == graded["maxima"][assignment] > 0


def test_the_source_notebook_itself_gets_full_marks(graded):
    assert score(graded, "source_notebook") == FULL


@pytest.mark.parametrize("assignment", ALL)
def test_untouched_exercises_get_zero(graded, assignment):
    assert score(graded, "untouched", assignment) == 0


@pytest.mark.parametrize("assignment", ALL)
@pytest.mark.parametrize("index", range(3))
def test_mutants_lose_every_point_of_their_function(graded, assignment, index):
    assert score(graded, f"mutant_{index}", assignment) == 0


@pytest.mark.parametrize("assignment", ALL)
@pytest.mark.parametrize("index", range(2))
def test_alternates_get_full_marks(graded, assignment, index):
    assert score(graded, f"alternate_{index}", assignment) == graded["maxima"][assignment]


@pytest.mark.parametrize("student", ["forbidden", "forbidden_swallowed"])
def test_a_forbidden_call_costs_that_function_only(graded, student):
    assert score(graded, student) == FULL - 3
    assert "forbidden operation aten.convolution" in _student_summary(graded, student)


@pytest.mark.parametrize("student", ["tamper_allclose", "tamper_assert_close", "tamper_library",
                                     "tamper_exceptions"])
def test_tampering_does_not_fool_the_grader(graded, student):
    """Each notebook has a wrong conv_output_size plus a trick; its tests still fail."""
    assert score(graded, student) <= FULL - 3


def test_replacing_torch_functions_is_reported(graded):
    assert "torch.allclose" in _student_summary(graded, "tamper_allclose")
    assert "torch.testing.assert_close" in _student_summary(graded, "tamper_assert_close")


def test_an_endless_cell_costs_only_what_depends_on_it(graded):
    """pad2d's cell never ends (it even swallows the interrupt): pad2d and corr2d_strided (which
    uses pad2d) lose their points, everything else is graded."""
    assert score(graded, "endless_cell") == FULL - 6
    assert "GradingTimeout" in _student_summary(graded, "endless_cell")


def test_an_endless_function_costs_only_its_tests(graded):
    assert score(graded, "endless_function") == FULL - 3


def test_a_kernel_crash_costs_only_what_depends_on_it(graded):
    """os._exit in convolve2d's cell: the kernel is restarted and later cells are graded."""
    assert score(graded, "crash") == FULL - 3
    assert "KernelDied" in _student_summary(graded, "crash")


def test_an_import_error_costs_only_that_cell(graded):
    assert score(graded, "import_error") == FULL - 3


def test_an_invalid_notebook_gets_zero_and_is_reported(graded):
    assert score(graded, "invalid_json") == 0
    assert "not a valid notebook" in _student_summary(graded, "invalid_json")


@pytest.mark.parametrize("student", ["deleted_tests", "edited_tests"])
def test_deleted_or_edited_tests_are_restored(graded, student):
    """Only conv_output_size is wrong; the restored tests grade everything else as usual."""
    assert score(graded, student) == FULL - 3


def test_everyone_is_graded(graded):
    students = {s for s, _ in graded["scores"]}
    assert {"perfect", "invalid_json", "crash", "endless_cell"} <= students


def test_feedback_shows_failures_and_seeds_but_not_hidden_tests(graded):
    feedback = graded["root"] / "out" / "feedback"
    page = (feedback / "mutant_0" / CH1 / f"{CH1}.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "failed case" in text and "hidden, seed" in text
    assert "conv_output_size, hidden=True" not in text and "BEGIN HIDDEN TESTS" not in text
    assert (feedback / "perfect" / CH2 / f"{CH2}.html").is_file()


def test_hidden_seeds_differ_between_students(graded):
    seeds = set()
    for student in ("mutant_0", "mutant_1"):
        text = _student_summary(graded, student)
        seeds.add(text.split("hidden, seed ")[1].split(",")[0])
    assert len(seeds) == 2


def _student_summary(graded, student, assignment=CH1):
    lines = graded["summary"].splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.strip().startswith(f"{assignment}  {student}:"))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("      - "):
            break
        block.append(line)
    return "\n".join(block)


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
