"""`ExerciseInfo`: what the checks need to know about one graded function (a leaf module).

Assignment modules (`autograder.assignments.chNN_*`) build their table from it; `exercise_db`
collects the tables. This module imports nothing from the package, so the three form no cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

__all__ = ["ExerciseInfo", "arrange"]


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
        forbidden: regex of ATen operator names the learner may not call (see `autograder.op_families`),
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
        timing_inputs: for exercises that must be vectorised, ``timing_inputs(draw)`` returns
            large `SampleInput`s on which the sandboxed grader measures the function's CPU time
            from outside the learner's process and compares it with the course's solution's,
            timed the same way (`checks.CPU_TIME_FACTOR`): sized so that a loop over images or
            output positions costs at least 50 times the solution, and so that shapes, not
            values, depend on nothing but the exercise (the solution's time is kept per shape).
        returns: for a function that returns a tuple, the names of its elements as the stub's
            docstring gives them (``("grad_input", "grad_weight", "grad_bias")``).
        points: the part's weight in its assignment, by difficulty; the visible test holds
            `visible_points` of them and the hidden test the rest. Set with `arrange`.
        section: the label of the book section the part practises (``ch06-matrix``), for the
            notebook's link. Set with `arrange`.
        may_use: names of `autograder.provided` functions the learner may call in this part
            (a correct helper, so that no part's grade depends on another part being right).
        from_the_loss: ``returns`` are gradients listed input-first: a failure lists the wrong
            ones from the last (nearest the loss) back, where a mistake shows first.
        new_tensor: the stub promises a new tensor, as the PyTorch operation returns: never an
            input itself nor a view of one (then writing to one would change the other).
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
    timing_inputs: Callable | None = None
    returns: tuple = ()
    points: int = 3
    section: str = ""
    may_use: tuple = ()
    new_tensor: bool = False
    from_the_loss: bool = False

    @property
    def key(self):
        return f"{self.assignment}.{self.name}"

    @property
    def visible_points(self):
        """Points of the visible test: a third, at least 1; the hidden test holds the rest."""
        return max(1, self.points // 3)

    @property
    def hidden_points(self):
        return self.points - self.visible_points


def arrange(exercises, parts):
    """``exercises`` in the notebook's order, with each part's points, section and helpers.

    ``parts`` lists ``(name, points, section)`` or ``(name, points, section, may_use)``, easy
    first: the one place where an assignment's layout is defined (the notebook's headings, test
    metadata, intro table and book links are generated from it by `autograder.authoring`).
    """
    by_name = {info.name: info for info in exercises}
    names = [part[0] for part in parts]
    if sorted(names) != sorted(by_name):
        raise ValueError(f"parts {names} do not match the exercises {sorted(by_name)}")
    arranged = []
    for name, points, section, *may_use in parts:
        arranged.append(replace(by_name[name], points=int(points), section=section,
                                may_use=tuple(may_use[0]) if may_use else ()))
    return arranged
