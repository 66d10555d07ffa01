"""What grading one notebook produces: plain, picklable records (no torch, no nbgrader).

A `NotebookResult` travels from a grading worker (a local process or a Dask worker) to the
instructor's process, which alone writes it into the gradebook, the feedback, the CSV and the
report. Everything in it is a str, a number, a bool or a list/tuple of those.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["TestOutcome", "CellProblem", "NotebookResult", "FLAGS", "STATUSES"]

# Why a notebook, a cell or a test went wrong, beyond a plain wrong answer.
FLAGS = {
    "timeout": "hit a time limit",
    "memory": "hit the memory limit",
    "output": "printed more than the output limit",
    "sandbox": "tripped the sandbox (processes, threads, native code, network, introspection)",
    "forbidden": "called a forbidden operation",
    "crash": "crashed the learner's process",
    "tampered": "edited or deleted a test cell",
    "unchecked": "a case could not run on the simulated device (a limit of the grader, or an "
                 "error the notebook raised itself): checked on the CPU only",
    "tampering": "changed, inside its own process, what the grader relies on (the library's "
                 "code or state): the tests that ran after it failed",
    "review": "uses low-level tricks (ctypes, memory maps, dispatcher internals, obfuscated "
              "imports): the sandbox cannot rule out tampering inside the learner's own "
              "process, so review this notebook by hand",
}

# status of one (student, assignment) in the CSV and the report
STATUSES = ("graded", "not submitted", "could not be graded")


@dataclass
class TestOutcome:
    """One graded test cell, judged by the trusted grader.

    ``message`` says, for a failed test, which case failed, what differs and how to replay it
    (the same text the visible check prints in the notebook); for a passed test it is empty, or
    a note (e.g. cases that could only be checked on the CPU).
    """

    grade_id: str            # nbgrader cell id, e.g. "test_corr2d_hidden"
    exercise: str            # key of autograder.exercise_db, e.g. "01_cross_correlation.corr2d"
    hidden: bool
    max_points: float
    points: float = 0.0
    message: str = ""
    flags: tuple = ()        # keys of FLAGS

    @property
    def passed(self):
        return self.points >= self.max_points

    @property
    def title(self):
        """'corr2d: hidden cases' — how feedback and the report name this test."""
        return f"{self.exercise.split('.')[-1]}: {'hidden' if self.hidden else 'visible'} cases"


@dataclass
class CellProblem:
    """A learner cell (not a test) that raised, hung, crashed or printed too much."""

    cell: str                # grade_id of the cell, or "cell 7" (1-based index among code cells)
    kind: str                # "error" or a key of FLAGS
    message: str


@dataclass
class NotebookResult:
    """The grade of one student's notebook for one assignment, and everything that went wrong."""

    student: str
    assignment: str
    status: str = "graded"               # one of STATUSES
    reason: str = ""                     # why it could not be graded
    tests: list = field(default_factory=list)          # [TestOutcome]
    cell_problems: list = field(default_factory=list)  # [CellProblem]
    tampered_cells: list = field(default_factory=list) # grade_ids of edited or deleted test cells
    seed: int | None = None              # the hidden cases' seed (printed in the feedback)
    content_hash: str = ""               # of the submitted notebook and the grading inputs
    seconds: float = 0.0                 # wall time spent grading it
    devices: tuple = ()                  # devices the checks ran on, e.g. ("cpu", "cuda:0")
    review: list = field(default_factory=list)         # why to review by hand (see FLAGS)

    @property
    def score(self):
        return float(sum(t.points for t in self.tests))

    @property
    def max_score(self):
        return float(sum(t.max_points for t in self.tests))

    @property
    def flags(self):
        """Every flag raised anywhere in the notebook, sorted."""
        found = {f for t in self.tests for f in t.flags}
        found |= {p.kind for p in self.cell_problems if p.kind in FLAGS}
        if self.tampered_cells:
            found.add("tampered")
        if self.review:
            found.add("review")
        return tuple(sorted(found))

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        data = dict(data)
        data["tests"] = [TestOutcome(**{**t, "flags": tuple(t.get("flags", ()))})
                         for t in data.get("tests", [])]
        data["cell_problems"] = [CellProblem(**p) for p in data.get("cell_problems", [])]
        data["devices"] = tuple(data.get("devices", ()))
        return cls(**data)
