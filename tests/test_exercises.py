"""Every exercise: the course's solution passes, every mutant fails, a sample of alternates passes.

These call the check library directly (fast); test_grading.py repeats a sample of them through
nbgrader. Each mutant must be caught by the hidden cases for every seed tried, so no student's
draw lets it through. One alternate of each function must pass for every seed here; the
whole corpus of alternates (4 to 6 per function) is graded through the real command, in the
sandbox, by tests/test_corpus_cli.py.
"""
import pytest

from autograder import CheckFailure, ForbiddenOpError, check, exercise_db
from tests.conftest import solution_functions
from tests.implementations import load_all

MUTANTS, ALTERNATES = load_all()
SEEDS = (11, 222, 3333, 44444)


def _solution(key):
    assignment, name = key.split(".")
    return solution_functions(assignment)[name]


@pytest.mark.parametrize("key", sorted(exercise_db))
def test_solution_passes_visible_and_hidden(key):
    function = _solution(key)
    check(key, function, verbose=False)
    for seed in SEEDS:
        check(key, function, hidden=True, seed=seed, verbose=False)


@pytest.mark.parametrize("implementation", MUTANTS, ids=lambda i: i.id)
def test_mutant_is_caught(implementation):
    for seed in SEEDS:
        with pytest.raises(CheckFailure):
            check(implementation.exercise, implementation.function, hidden=True, seed=seed,
                  verbose=False)


@pytest.mark.parametrize("implementation", MUTANTS, ids=lambda i: i.id)
def test_mutant_is_caught_by_the_visible_cases_too(implementation):
    """Learners see the mistake before submitting: the visible cases catch every mutant."""
    with pytest.raises(CheckFailure):
        check(implementation.exercise, implementation.function, verbose=False)


def _sample(implementations):
    """One alternate per function: the first that does not loop (loops are the slow ones)."""
    chosen = {}
    for implementation in implementations:
        before = chosen.get(implementation.exercise)
        if before is None or (before.description.startswith("loops:")
                              and not implementation.description.startswith("loops:")):
            chosen[implementation.exercise] = implementation
    return list(chosen.values())


@pytest.mark.parametrize("implementation", _sample(ALTERNATES), ids=lambda i: i.id)
def test_alternate_gets_full_marks(implementation):
    check(implementation.exercise, implementation.function, verbose=False)
    for seed in SEEDS:
        check(implementation.exercise, implementation.function, hidden=True, seed=seed,
              verbose=False)


@pytest.mark.parametrize("key", sorted(exercise_db))
def test_every_exercise_has_three_mutants_and_two_alternates(key):
    assert sum(m.exercise == key for m in MUTANTS) >= 3, key
    assert sum(a.exercise == key for a in ALTERNATES) >= 2, key


@pytest.mark.parametrize("key", sorted(k for k, info in exercise_db.items() if info.forbidden))
def test_calling_the_reference_operation_is_forbidden(key):
    """The shortcut (the very torch.nn.functional call the exercise teaches) fails the check."""
    shortcut = exercise_db[key].reference
    with pytest.raises(ForbiddenOpError):
        check(key, shortcut, verbose=False)
    with pytest.raises(ForbiddenOpError):
        check(key, shortcut, hidden=True, seed=SEEDS[0], verbose=False)
