"""The table of graded exercises, after PyTorch's ``op_db``: one `ExerciseInfo` per function.

Every module of `autograder.assignments` (one per assignment, found on disk: adding a chapter
needs no list to be edited) defines ``EXERCISES``; this module collects them under keys
``"<assignment>.<function>"`` such as ``"01_cross_correlation.corr2d"``.
"""
from __future__ import annotations

import importlib
import pkgutil

from . import assignments as _assignments
from .exercise_info import ExerciseInfo

__all__ = ["ExerciseInfo", "exercise_db", "get_exercise", "assignment_modules"]


def assignment_modules():
    """The assignment modules present in `autograder.assignments`, by name."""
    return [importlib.import_module(f"{_assignments.__name__}.{m.name}")
            for m in sorted(pkgutil.iter_modules(_assignments.__path__), key=lambda m: m.name)
            if not m.name.startswith("_")]


def _collect():
    table = {}
    for module in assignment_modules():
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
