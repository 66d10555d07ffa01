"""The course's check library: the tests that learners run in their notebooks.

Notebook test cells are one line, e.g. ``check("01_cross_correlation.corr2d", corr2d)``; the
hidden tests add ``hidden=True``. Everything else lives in this package:

* `autograder.exercise_db` / `autograder.assignments`: per exercise, the PyTorch reference, the
  sample inputs and the forbidden operations;
* `autograder.checks`: runs a function on every sample and device and explains the first failure;
* `autograder.simulated`: a simulated second device, so that tensors created without
  ``device=`` fail on a machine without a GPU too;
* `autograder.compare`: type, device, dtype, shape and value comparison with per-dtype tolerances;
* `autograder.op_families`, `autograder.op_watch`, `autograder.time_limit`,
  `autograder.tamper`: forbidden operations (switched off, and watched at the dispatcher), time
  limits, tampering;
* `autograder.learner_process`, `autograder.sandbox`, `autograder.wire`, `autograder.seccomp`,
  `autograder.grade_notebook`: grading with the learner's code in a sandboxed process and the verdict
  outside it;
* `autograder.instructor` and ``python -m autograder``: the instructor's commands (never
  imported in a learner's process).

Importing this package is free: torch and NumPy are imported when a name such as `check` is
first used, so ``python -m autograder grade`` starts without them. That first use snapshots what
the checks rely on and makes the library's modules read-only for notebook code (instant feedback
only: grades never depend on what happens inside the learner's process).
"""
import importlib as _importlib
import sys as _sys

__all__ = [
    "check", "sample_input", "available_devices", "assert_matches", "exercise_db", "get_exercise",
    "ExerciseInfo", "CheckFailure", "ForbiddenOpError", "LeftTorchError", "LearnerTimeout",
    "TamperingError", "VISIBLE_SEED", "simulated_device",
]

_HOMES = {
    "check": "checks", "sample_input": "checks", "available_devices": "checks",
    "VISIBLE_SEED": "checks", "assert_matches": "compare", "exercise_db": "exercise_db",
    "get_exercise": "exercise_db", "ExerciseInfo": "exercise_db", "CheckFailure": "errors",
    "ForbiddenOpError": "errors", "LeftTorchError": "errors", "LearnerTimeout": "errors",
    "TamperingError": "errors", "simulated_device": "simulated",
}


def _load():
    """Import the check library, snapshot it, and make its modules read-only (once)."""
    for name, home in _HOMES.items():
        globals()[name] = getattr(_importlib.import_module(f"{__name__}.{home}"), name)
    from .tamper import Integrity, make_read_only
    Integrity.capture()
    for module in [n for n in _sys.modules if n == __name__ or n.startswith(__name__ + ".")]:
        if not module.startswith(f"{__name__}.instructor"):
            make_read_only(module)


def __getattr__(name):
    if name in _HOMES:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOMES))
