"""`ExerciseInfo`: what the checks need to know about one graded function (a leaf module).

Assignment modules (`autograder.assignments.chNN_*`) build their table from it; `exercise_db`
collects the tables. This module imports nothing from the package, so the three form no cycle.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["ExerciseInfo"]


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
