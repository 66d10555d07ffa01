"""Tampering: what a notebook may not replace, and the library's read-only modules.

The notebook could replace what the checks rely on (``torch.allclose``,
``torch.testing.assert_close``, this library's functions, IPython's exception reporting).
`Integrity` snapshots all of it when the library is first imported (in the notebook's locked
set-up cell, before any learner code runs) and, before every check, restores exception
reporting and reports anything replaced. `make_read_only` makes this library's modules refuse
assignment (`ReadOnlyModule`). Instant feedback only: grades are decided outside the learner's
process.

This module needs only torch and the standard library.
"""
from __future__ import annotations

import builtins
import sys
import types

import torch

from .errors import TamperingError

__all__ = ["Integrity", "ReadOnlyModule", "make_read_only"]

_BUILTIN_NAMES = (
    "isinstance", "issubclass", "type", "getattr", "setattr", "hasattr", "len", "range", "repr",
    "str", "int", "float", "bool", "tuple", "list", "dict", "abs", "min", "max", "sum", "all",
    "any", "zip", "enumerate", "print", "__import__", "BaseException", "Exception",
    "AssertionError", "ValueError", "TypeError", "NotImplementedError", "KeyboardInterrupt",
)


def _namespaces(library=None):
    """The namespaces whose entries the checks and the references rely on: PyTorch's, and those
    of this library's modules, ``library`` (their names) or else every one imported."""
    import torch.nn.functional as F
    import torch.testing
    spaces = {
        "torch": vars(torch), "torch.nn.functional": vars(F), "torch.testing": vars(torch.testing),
        "torch.Tensor": vars(torch.Tensor), "torch.nn": vars(torch.nn),
    }
    if library is None:
        library = [name for name in list(sys.modules)
                   if name == "autograder" or name.startswith("autograder.")]
    for name in library:
        module = sys.modules.get(name)
        if module is not None:
            spaces[name] = vars(module)
    return spaces


_MISSING = object()


class Integrity:
    """A snapshot of everything the checks rely on, taken before any learner code runs.

    ``Integrity.capture()`` is called once, when this library is first imported. ``verify()``
    returns the names that were replaced since (e.g. ``["torch.allclose"]``), and
    ``restore_exception_reporting()`` undoes changes to IPython's error reporting so that a failing
    check always reaches nbgrader as an error.
    """

    _snapshot = None
    _shell_methods = None

    @classmethod
    def capture(cls):
        if cls._snapshot is None:
            # Where learner code runs (its kernel, the sandbox's zygote), torch._dynamo is
            # imported first, as it always was: importing it rebinds torch.manual_seed, so a
            # notebook that uses torch.compile changes nothing the snapshot holds, and pays no
            # import inside its time limits. The grader's own processes take no snapshot and
            # never import it (1.4 s each).
            import torch._dynamo  # noqa: F401
            snapshot = {space: dict(entries) for space, entries in _namespaces().items()}
            snapshot["builtins"] = {n: getattr(builtins, n) for n in _BUILTIN_NAMES}
            cls._snapshot = snapshot
        shell = _ipython_shell()
        if shell is not None and cls._shell_methods is None:
            cls._shell_methods = {name: (vars(shell).get(name), getattr(type(shell), name))
                                  for name in _SHELL_METHODS if hasattr(type(shell), name)}

    @classmethod
    def verify(cls):
        """Names (``module.attribute``) that differ from the snapshot; empty when untouched."""
        if cls._snapshot is None:
            return []
        replaced = []
        # Only the snapshot's own modules: scanning sys.modules on every check (thousands of
        # modules in a notebook's kernel) cost more than the check of a small case.
        current = _namespaces([space for space in cls._snapshot if space.startswith("autograder")])
        current["builtins"] = vars(builtins)
        for space, entries in cls._snapshot.items():
            now = current.get(space)
            if now is None:
                replaced.append(f"{space} (module removed)")
                continue
            for name in [name for name, original in entries.items()
                         if now.get(name, _MISSING) is not original]:
                replaced.append(f"{space}.{name}" if name in now else f"{space}.{name} (deleted)")
        return replaced

    @classmethod
    def restore_exception_reporting(cls):
        """Undo IPython set_custom_exc and replaced traceback methods; report what was undone."""
        shell = _ipython_shell()
        undone = []
        if shell is None:
            return undone
        if getattr(shell, "custom_exceptions", ()):
            shell.custom_exceptions = ()
            undone.append("IPython custom exception handler (set_custom_exc)")
        for name, (on_instance, on_class) in (cls._shell_methods or {}).items():
            if getattr(type(shell), name) is not on_class:
                setattr(type(shell), name, on_class)
                undone.append(f"{type(shell).__name__}.{name}")
            if vars(shell).get(name) is not on_instance:
                if on_instance is None:
                    del vars(shell)[name]
                else:
                    vars(shell)[name] = on_instance
                undone.append(f"get_ipython().{name}")
        return undone


_SHELL_METHODS = ("showtraceback", "_showtraceback", "run_code", "run_cell",
                  "run_cell_async", "run_ast_nodes")


def _ipython_shell():
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:
        return None


class ReadOnlyModule(types.ModuleType):
    """Module type for this library: notebook code cannot replace its names.

    Assigning ``autograder.check = ...`` raises at once with a clear message, and attribute
    lookups (``autograder.check``, ``from autograder import check``) return the objects the
    module held when it was made read-only, even if its ``__dict__`` was edited behind our back.
    New names (such as submodules being imported) may still be added.
    """

    _originals = {}

    def __getattribute__(self, name):
        originals = ReadOnlyModule._originals.get(object.__getattribute__(self, "__name__"), {})
        if name in originals:
            return originals[name]
        return super().__getattribute__(name)

    def __setattr__(self, name, value):
        if name in vars(self):
            raise TamperingError(
                f"{self.__name__}.{name} is part of the course's check library and cannot be "
                "replaced from a notebook.")
        super().__setattr__(name, value)

    def __delattr__(self, name):
        raise TamperingError(f"{self.__name__}.{name} cannot be deleted from a notebook.")


def make_read_only(module_name):
    """Switch a module of this library to `ReadOnlyModule` (PEP 549-style class assignment)."""
    module = sys.modules[module_name]
    ReadOnlyModule._originals[module_name] = {
        name: value for name, value in vars(module).items()
        if not name.startswith("__") and callable(value)}
    module.__class__ = ReadOnlyModule
