"""Notice when notebook code changes what the checks rely on. Standard library only.

A learner's code runs in the same process as the check machinery (the notebook's kernel, or the
grader's learner process): it can rebind a module's name, assign a class attribute, swap a
function's code or a closure's cell. None of that is needed by any solution, and each of them
could switch a criterion off (the device check, the watches that see forbidden operations or
autograd). `Snapshot` records, before any learner code runs, the identity of every name of the
given modules, of every attribute of the classes they define, and of every function's code,
defaults and closure cells; `Snapshot.changes()` lists what differs since.

Reassigning a function's ``__code__`` or defaults raises an ``object.__setattr__`` audit event
(and so does reading them: the grader's learner process, which runs an audit hook, has its hook
report those events to `Snapshot.note_setattr` rather than read three attributes of some 500
functions after every call).
"""
from __future__ import annotations

import types

__all__ = ["Snapshot"]


class _FunctionState:
    """A function's code, defaults and closure contents, as objects (kept alive, compared with
    ``is``). ``__globals__`` and ``__closure__`` are read-only, so the cells themselves are read
    once; a check then reads three attributes, each of which raises an audit event (the
    grader's learner process runs an audit hook: every such read is a call into it)."""

    __slots__ = ("code", "defaults", "kwdefaults", "cells", "contents")

    def __init__(self, function):
        self.code, self.defaults = function.__code__, function.__defaults__
        self.kwdefaults = function.__kwdefaults__
        self.cells = function.__closure__ or ()
        self.contents = tuple(_contents(cell) for cell in self.cells)

    def same(self, function):
        """Whether ``function`` still holds what it held: code, defaults and closure."""
        return (function.__code__ is self.code and function.__defaults__ is self.defaults
                and function.__kwdefaults__ is self.kwdefaults and self.same_closure())

    def same_closure(self):
        """Whether the closure's cells still hold what they held (its code and defaults may be
        known by other means, `Snapshot.watch_setattr`)."""
        return all(_contents(cell) is value for cell, value in zip(self.cells, self.contents))


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:                  # an empty cell
        return _EMPTY


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
        self._by_id, self._closures, self._set = None, [], []
        for name, module in self.modules.items():
            for attribute, value in list(vars(module).items()):
                where = f"{name}.{attribute}"
                if isinstance(value, type) and getattr(value, "__module__", None) == name:
                    self.classes[where] = (value, dict(vars(value)))
                    for member, inner in list(vars(value).items()):
                        for function in _functions(inner):
                            self.functions[f"{where}.{member}"] = (function,
                                                                   _FunctionState(function))
                for function in _functions(value):
                    if function.__module__ == name:
                        self.functions[where] = (function, _FunctionState(function))

    def watch_setattr(self):
        """From now on, learn of changes to the functions' code and defaults from `note_setattr`
        instead of reading them at each `changes` (each read is an audit event). Call only in a
        process whose audit hook passes every ``object.__setattr__`` event to `note_setattr`
        (every assignment to a function's ``__code__``, ``__defaults__`` or ``__kwdefaults__``
        raises one, however it is made)."""
        self._by_id = {id(function): where for where, (function, _) in self.functions.items()}
        self._closures = [(where, state) for where, (_, state) in self.functions.items()
                          if state.cells]
        self._set = []

    def note_setattr(self, target, attribute):
        """An ``object.__setattr__`` audit event: ``target.<attribute>`` is being assigned."""
        where = self._by_id.get(id(target)) if self._by_id is not None else None
        if where is not None and self.functions[where][0] is target:
            self._set.append(where)

    def changes(self, limit=20):
        """What differs from the snapshot (``"autograder.checks.run_check"``), at most ``limit``.

        Runs after every graded call: each namespace is compared in one comprehension, and once
        `watch_setattr` is on only the functions with a closure are read."""
        found = []
        for name, module in self.modules.items():
            get = vars(module).get
            found += [f"{name}.{attribute}" for attribute, original in self.names[name].items()
                      if get(attribute, _MISSING) is not original]
        for where, (cls, attributes) in self.classes.items():
            now = vars(cls)
            if len(now) != len(attributes):
                found.append(f"{where} (attributes added or removed)")
            found += [f"{where}.{attribute}" for attribute, original in attributes.items()
                      if now.get(attribute, _MISSING) is not original]
        if self._by_id is None:
            found += [f"{where} (code, defaults or closure)"
                      for where, (function, state) in self.functions.items()
                      if not state.same(function)]
        else:
            found += [f"{where} (code, defaults or closure)"
                      for where, state in self._closures if not state.same_closure()]
        found += [f"{where} (code, defaults or closure)" for where in self._set]
        for name, space in self.extra.items():
            get = self.extra_live[name].get
            found += [f"{name}.{attribute}" for attribute, original in space.items()
                      if get(attribute, _MISSING) is not original]
        return list(dict.fromkeys(found))[:limit]


_MISSING = object()
_EMPTY = object()
