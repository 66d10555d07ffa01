"""The table of graded exercises, after PyTorch's ``op_db``: one `ExerciseInfo` per function.

Each assignment module in `autograder.assignments` lists its exercises; this module collects them
under keys ``"<assignment>.<function>"`` such as ``"01_cross_correlation.corr2d"``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["ExerciseInfo", "exercise_db", "get_exercise"]


@dataclass(frozen=True)
class ExerciseInfo:
    """Everything needed to check one learner function against its PyTorch reference.

    Attributes:
        assignment: the nbgrader assignment, e.g. ``"01_cross_correlation"``.
        name: the function's name in the notebook, e.g. ``"corr2d"``.
        parameters: the function's parameter names, used to print failing calls.
        reference: computes the expected result from a sample's arguments (a tensor, an int, a
            tuple of those, or `Raises` for arguments that must be rejected). It is built from
            torch functions bound at import, before learner code runs.
        reference_name: how the feedback names the reference, e.g. ``"F.conv2d"``.
        sample_inputs: ``sample_inputs(draw, hidden)`` returns the list of `SampleInput` to try.
        forbidden: regex of ATen operator names the learner may not call (see `autograder.guard`),
            or None.
        tensor_free: True for functions of plain ints (checked once, not per device).
        time_limit: seconds one call may take before it is interrupted.
        forbid_autograd: the learner computes gradients by hand; any use of autograd fails.
        op_count_inputs: for exercises that must be vectorised, ``op_count_inputs(draw)``
            returns a small and a large `SampleInput` of the same configuration; the function
            must dispatch no more ATen operations on the large one than on the small one, up
            to `checks.OP_COUNT_SLACK` (a loop over positions or batch elements dispatches at
            least one more per iteration, so the large sample must add more iterations than
            that slack along every axis a loop could run over).
    """

    assignment: str
    name: str
    parameters: tuple
    reference: Callable
    reference_name: str
    sample_inputs: Callable
    forbidden: str | None = None
    tensor_free: bool = False
    time_limit: float = 10.0
    forbid_autograd: bool = False
    op_count_inputs: Callable | None = None

    @property
    def key(self):
        return f"{self.assignment}.{self.name}"


def _collect():
    from .assignments import ASSIGNMENT_MODULES
    table = {}
    for module in ASSIGNMENT_MODULES:
        for info in module.EXERCISES:
            if info.key in table:
                raise RuntimeError(f"exercise {info.key} is defined twice")
            table[info.key] = info
    return table


exercise_db = _collect()


def get_exercise(key):
    """The `ExerciseInfo` for ``key``; a KeyError that lists the known keys otherwise."""
    try:
        return exercise_db[key]
    except KeyError:
        known = ", ".join(sorted(exercise_db))
        raise KeyError(f"unknown exercise {key!r}; known exercises: {known}") from None
