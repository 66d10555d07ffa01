"""Notice when notebook code changes what the checks rely on. Standard library only.

A learner's code runs in the same process as the check machinery (the notebook's kernel, or the
grader's learner process): it can rebind a module's name, assign a class attribute, swap a
function's code or a closure's cell. None of that is needed by any solution, and each of them
could switch a criterion off (the device check, the watches that see forbidden operations or
autograd). `Snapshot` records, before any learner code runs, the identity of every name of the
given modules, of every attribute of the classes they define, and of every function's code,
defaults and closure cells; `Snapshot.changes()` lists what differs since.

Reassigning a function's ``__code__`` or defaults also raises an audit event, which the
grader's learner process refuses outright; everything else is caught here, after each call.
"""
from __future__ import annotations

import types

__all__ = ["Snapshot"]


def _function_state(function):
    closure = function.__closure__ or ()
    cells = []
    for cell in closure:
        try:
            cells.append(id(cell.cell_contents))
        except ValueError:              # an empty cell
            cells.append(None)
    return (id(function.__code__), id(function.__defaults__), id(function.__kwdefaults__),
            id(function.__globals__), tuple(cells))


def _functions(value):
    """Plain functions inside ``value`` (itself, or wrapped by staticmethod/classmethod/property)."""
    if isinstance(value, types.FunctionType):
        return [value]
    if isinstance(value, (staticmethod, classmethod)):
        return _functions(value.__func__)
    if isinstance(value, property):
        return [f for part in (value.fget, value.fset, value.fdel) for f in _functions(part)]
    return []


class Snapshot:
    """The state of ``modules`` (name -> module) and of the classes and functions they define.

    ``extra`` adds namespaces to watch by name only (e.g. ``{"builtins": vars(builtins)}``).
    """

    def __init__(self, modules, extra=None):
        self.modules = dict(modules)
        self.extra = {name: dict(space) for name, space in (extra or {}).items()}
        self.extra_live = dict(extra or {})
        self.names = {name: dict(vars(module)) for name, module in self.modules.items()}
        self.classes, self.functions = {}, {}
        for name, module in self.modules.items():
            for attribute, value in list(vars(module).items()):
                where = f"{name}.{attribute}"
                if isinstance(value, type) and getattr(value, "__module__", None) == name:
                    self.classes[where] = (value, dict(vars(value)))
                    for member, inner in list(vars(value).items()):
                        for function in _functions(inner):
                            self.functions[f"{where}.{member}"] = (function,
                                                                   _function_state(function))
                for function in _functions(value):
                    if function.__module__ == name:
                        self.functions[where] = (function, _function_state(function))

    def changes(self, limit=20):
        """What differs from the snapshot (``"autograder.checks.run_check"``), at most ``limit``."""
        found = []
        for name, module in self.modules.items():
            now = vars(module)
            for attribute, original in self.names[name].items():
                if now.get(attribute, _MISSING) is not original:
                    found.append(f"{name}.{attribute}")
        for where, (cls, attributes) in self.classes.items():
            now = vars(cls)
            if len(now) != len(attributes):
                found.append(f"{where} (attributes added or removed)")
            for attribute, original in attributes.items():
                if now.get(attribute, _MISSING) is not original:
                    found.append(f"{where}.{attribute}")
        for where, (function, state) in self.functions.items():
            if _function_state(function) != state:
                found.append(f"{where} (code, defaults or closure)")
        for name, space in self.extra.items():
            now = self.extra_live[name]
            for attribute, original in space.items():
                if now.get(attribute, _MISSING) is not original:
                    found.append(f"{name}.{attribute}")
        return list(dict.fromkeys(found))[:limit]


_MISSING = object()
