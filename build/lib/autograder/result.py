"""What grading one notebook produces: plain, picklable records (no torch, no nbgrader).

A `NotebookResult` travels from a grading worker (a local process or a Dask worker) to the
instructor's process, which alone writes it into the gradebook, the feedback, the CSV and the
report. Everything in it is a str, a number, a bool or a list/tuple of those.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

__all__ = ["TestOutcome", "CellProblem", "Override", "Comment", "NotebookResult", "FLAGS", "STATUSES"]

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

# status of one (student, assignment) in the CSV and the report: "not graded yet" is a submission
# that a run did not reach (interrupted, or left out with --student/--assignment); it is never
# counted as missing work.
STATUSES = ("graded", "not graded yet", "not submitted", "could not be graded")


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
    kind: str                # "error", a key of FLAGS, or "note" (a comparison cell that calls
                             # what this part forbids: its result is skipped, nothing is lost)
    message: str


@dataclass
class Override:
    """A person's score for one test, which every regrade keeps (see ``grade --override``)."""

    grade_id: str
    points: float            # the score that counts
    auto_points: float       # what the grader gave
    why: str = ""            # the instructor's reason ("set in formgrader" if none was given)


@dataclass
class Comment:
    """A person's comment on one cell of a graded notebook (formgrader's manual comment)."""

    cell: str                # the cell's grade_id: a solution cell (e.g. "corr2d") or a test
    text: str


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
    # Filled by the instructor's process, never by a worker:
    total: float = 0.0                   # the assignment's points, for a row without tests
    submitted_at: str = ""               # ISO 8601 UTC, from nbgrader's timestamp.txt
    seconds_late: float = 0.0            # past the due date (with the student's extension)
    late_penalty: float = 0.0            # points taken off for it (nbgrader's late plugin)
    overrides: list = field(default_factory=list)      # [Override] made by a person
    comments: list = field(default_factory=list)       # [Comment] made by a person

    @property
    def score(self):
        """The points to record: every test's points (a person's override where there is one),
        less the late penalty; 0 for a notebook not submitted or not gradable."""
        return max(0.0, float(sum(t.points for t in self.tests)) - self.late_penalty)

    @property
    def max_score(self):
        return float(sum(t.max_points for t in self.tests)) if self.tests else float(self.total)

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

    def with_overrides(self, overrides):
        """A copy with each `Override`'s points in place of its test's automatic points."""
        by_test = {o.grade_id: o for o in overrides}
        tests = [replace(t, points=by_test[t.grade_id].points) if t.grade_id in by_test else t
                 for t in self.tests]
        return replace(self, tests=tests,
                       overrides=[o for o in overrides if o.grade_id in {t.grade_id
                                                                         for t in self.tests}])

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        data = dict(data)
        data["tests"] = [TestOutcome(**{**t, "flags": tuple(t.get("flags", ()))})
                         for t in data.get("tests", [])]
        data["cell_problems"] = [CellProblem(**p) for p in data.get("cell_problems", [])]
        data["devices"] = tuple(data.get("devices", ()))
        data["overrides"] = [Override(**o) for o in data.get("overrides", [])]
        data["comments"] = [Comment(**c) for c in data.get("comments", [])]
        return cls(**data)
