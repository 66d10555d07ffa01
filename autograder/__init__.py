"""The course's check library: the tests that learners run and nbgrader grades with.

Notebook test cells are one line, e.g. ``check("01_cross_correlation.corr2d", corr2d)``; the
hidden tests add ``hidden=True``. Everything else lives in this package:

* `autograder.exercise_db` / `autograder.assignments`: per exercise, the PyTorch reference, the
  sample inputs and the forbidden operations;
* `autograder.checks`: runs a function on every sample and device and explains the first failure;
* `autograder.compare`: type, device, dtype, shape and value comparison with per-dtype tolerances;
* `autograder.guard`: forbidden-operation detection at the dispatcher, time limits, tampering;
* `autograder.grading` and ``python -m autograder``: the nbgrader pipeline for instructors.

Importing this package needs only torch and numpy (nbgrader is imported by the grading commands
alone), so the checks also run on machines without Jupyter. The first import snapshots what the
checks rely on and makes the library's modules read-only for notebook code.
"""
import sys as _sys

from .checks import VISIBLE_SEED, available_devices, check, sample_input
from .compare import assert_matches
from .errors import (CheckFailure, ForbiddenOpError, LearnerTimeout, LeftTorchError,
                     TamperingError)
from .exercise_db import ExerciseInfo, exercise_db, get_exercise
from .guard import Integrity as _Integrity
from .guard import make_read_only as _make_read_only

__all__ = [
    "check", "sample_input", "available_devices", "assert_matches", "exercise_db", "get_exercise",
    "ExerciseInfo", "CheckFailure", "ForbiddenOpError", "LeftTorchError", "LearnerTimeout",
    "TamperingError", "VISIBLE_SEED",
]

_Integrity.capture()
for _name in [n for n in _sys.modules if n == __name__ or n.startswith(__name__ + ".")]:
    _make_read_only(_name)
