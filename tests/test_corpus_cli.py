"""Every correct implementation of the corpus gets full marks through the real command.

`tests/implementations/` holds, per graded function, correct implementations in other styles a
learner might choose (Python lists for indexing, FFT, einsum, ``Tensor.unfold``, scatter, float64
inside, loops where loops are allowed, ...). Here they are pasted into notebooks (notebook ``i``
of an assignment uses the ``i``-th alternate of each of its functions) and the whole corpus is
graded with ``python -m autograder grade`` in the sandbox, on the CPU and the simulated device,
with the CPU-time check: every one must pass every test of its function, and no notebook may be
flagged. (The mutants, wrong on purpose, are checked in `tests/test_exercises.py`.)
"""
from collections import defaultdict

import pytest

from tests.attacks import grade_class
from tests.conftest import filled_exercise, solution_sources, total_points
from tests.implementations import load_all

pytestmark = pytest.mark.slow

_, ALTERNATES = load_all()


def _corpus():
    """({student: {assignment: notebook}}, {alternate id: (student, assignment)})."""
    by_function = defaultdict(lambda: defaultdict(list))
    for implementation in ALTERNATES:
        assignment, function = implementation.exercise.split(".")
        by_function[assignment][function].append(implementation)
    students, where = defaultdict(dict), {}
    for assignment, functions in sorted(by_function.items()):
        for i in range(max(len(impls) for impls in functions.values())):
            sources = solution_sources(assignment)
            student = f"corpus_{i}"
            for function, impls in functions.items():
                implementation = impls[i % len(impls)]
                sources[function] = implementation.source()
                where.setdefault(implementation.id, (student, assignment))
            students[student][assignment] = filled_exercise(assignment, sources)
    return dict(students), where


STUDENTS, WHERE = _corpus()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return grade_class(tmp_path_factory.mktemp("corpus"), STUDENTS, "--seed-salt", "corpus",
                       workers=2, timeout=1800)


def test_the_corpus_is_graded(run):
    assert run.proc.returncode == 0, run.proc.stderr[-4000:]


@pytest.mark.parametrize("student, assignment", sorted(
    (s, a) for s, notebooks in STUDENTS.items() for a in notebooks))
def test_every_corpus_notebook_gets_full_marks_and_no_flag(run, student, assignment):
    row = run.row(student, assignment)
    failed = [t.message[:400] for t in run.result(student, assignment).tests if not t.passed]
    assert (row["status"], row["score"]) == ("graded", total_points(assignment)), failed
    assert row["flags"] == "", (row, run.result(student, assignment).review)


@pytest.mark.parametrize("alternate", sorted(WHERE))
def test_each_alternate_passes_every_test_of_its_function(run, alternate):
    student, assignment = WHERE[alternate]
    function = alternate.split(":")[0]
    tests = [t for t in run.result(student, assignment).tests
             if t.exercise == f"{assignment}.{function}"]
    assert tests and all(t.passed for t in tests), [t.message[:600] for t in tests]
