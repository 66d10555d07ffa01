"""Read a learner's code for what no solution needs and every in-process trick does.

The grader measures what it can outside the learner's process (values, CPU time, which
tensors came back on which device). What it must still watch inside that process (the disabled
operators, the device and autograd watches, the library's own code) can only be changed from
Python by reaching behind the names a solution uses: a private or special attribute
(``x.__class__``, ``torch._C``, ``mode.__self__``), a name built at run time (``getattr`` with a
computed name, ``vars``, ``globals``, ``exec``), a module meant for introspection (``ctypes``,
``gc``, ``inspect``, ``sys``), or an assignment into a library (``F.conv2d = ...``,
``autograder.op_watch.X = ...``). `review_reasons` lists the lines of a notebook that do any of
these; the grader flags such a notebook ``review`` for a person to read (its score is computed
as usual). The course's solutions, and every correct implementation in the test suite's corpus,
use none of them.

Standard library only (it runs in the trusted grader on the submitted text, never in the
learner's process).
"""
from __future__ import annotations

import ast
import re

from .notebook import parse_python

__all__ = ["review_reasons"]

# Special attributes a plain program uses.
ALLOWED_SPECIAL = {"__init__", "__name__", "__doc__", "__len__", "__repr__", "__str__",
                   "__call__", "__getitem__", "__iter__", "__next__", "__enter__", "__exit__",
                   "__eq__", "__hash__", "__file__", "__version__"}
# Private names of PyTorch's that learners meet in tutorials, harmless.
ALLOWED_PRIVATE = {"_pair", "_single", "_triple", "_quadruple", "_ntuple"}
# What a notebook imports from the check library (the rest is the grader's own machinery).
PUBLIC_LIBRARY = {"check", "provided", "sample_input", "simulated_device", "assert_matches",
                  "CheckFailure"}
# Modules for introspection, native code, processes, serialised code or the import system.
SUSPICIOUS_MODULES = {
    "ctypes", "_ctypes", "gc", "inspect", "sys", "importlib", "builtins", "types", "marshal",
    "pickle", "dill", "codecs", "base64", "binascii", "zlib", "lzma", "bz2", "subprocess",
    "_posixsubprocess", "os", "posix", "signal", "threading", "_thread", "multiprocessing",
    "concurrent", "socket", "mmap", "resource", "weakref", "copyreg",
    "dis", "code", "codeop", "runpy", "pkgutil", "zipimport", "sysconfig", "atexit", "faulthandler",
    "tracemalloc", "traceback", "linecache", "io", "pathlib", "shutil", "tempfile", "glob",
    "urllib", "http", "requests", "asyncio",
}
# Calls that read or write names chosen at run time, or run text as code.
DYNAMIC_CALLS = {"vars", "globals", "locals", "exec", "eval", "compile", "__import__",
                 "breakpoint", "open", "input", "memoryview", "classmethod", "staticmethod",
                 "super", "type", "object"}
ATTRIBUTE_CALLS = {"getattr", "setattr", "delattr", "hasattr"}
_SPECIAL_TEXT = re.compile(r"__\w+__|/proc\b")
_LEGACY = re.compile(   # what the text-only scan of earlier versions flagged, kept
    r"\bctypes\b|_ctypes|__subclasses__|/proc/self/(mem|maps)|_DispatchModule|_dispatch_"
    r"|torch\.library|\bLibrary\(|__code__|f_back|_getframe|gc\.get_|_posixsubprocess"
    r"|base64|codecs\.decode|marshal|provided\.(checking|remote|_)|provided_running|__wrapped__")


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _private(name):
    if name in ALLOWED_SPECIAL or name in ALLOWED_PRIVATE:
        return False
    return name.startswith("_")


class _Reader(ast.NodeVisitor):
    def __init__(self):
        self.found = []               # (line, why)
        self.modules = {"torch", "F", "nn", "autograder", "provided", "check", "np", "math"}

    def note(self, node, why):
        self.found.append((getattr(node, "lineno", 1), why))

    def visit_Import(self, node):
        for alias in node.names:
            self._module(node, alias.name)
            self.modules.add((alias.asname or alias.name).split(".")[0])
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        self._module(node, node.module or "")
        for alias in node.names:
            if _private(alias.name):
                self.note(node, f"imports the private name {alias.name}")
            elif node.module == "autograder" and alias.name not in PUBLIC_LIBRARY:
                self.note(node, f"imports the grader's own {alias.name}")
            self.modules.add(alias.asname or alias.name)
        if node.level:
            self.note(node, "a relative import")
        self.generic_visit(node)

    def _module(self, node, name):
        parts = name.split(".")
        if parts[0] == "autograder" and parts[1:] not in ([], ["provided"]):
            self.note(node, f"imports the grader's own module {name}")
        elif parts[0] in SUSPICIOUS_MODULES:
            self.note(node, f"imports {name}")
        elif any(_private(part) for part in parts):
            self.note(node, f"imports the private module {name}")

    def visit_Attribute(self, node):
        if _private(node.attr):
            self.note(node, f"uses the private or special attribute .{node.attr}")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in SUSPICIOUS_MODULES and isinstance(node.ctx, ast.Load) \
                and node.id in self.modules:
            self.note(node, f"uses the module {node.id}")
        if _private(node.id) and node.id.startswith("__"):
            self.note(node, f"uses the special name {node.id}")
        self.generic_visit(node)

    def visit_Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in DYNAMIC_CALLS and not (name == "super" and not node.args) and not (
                name == "type" and len(node.args) == 1):
            self.note(node, f"calls {name}()")
        if name in ATTRIBUTE_CALLS:
            attribute = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(attribute, ast.Constant) and isinstance(attribute.value, str)
                    and not _private(attribute.value)):
                self.note(node, f"calls {name}() with a name chosen at run time or private")
            elif name in ("setattr", "delattr"):
                self.note(node, f"calls {name}()")
        self.generic_visit(node)

    def _assigned(self, target):
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            root = _root(target)
            if root in self.modules:
                self.note(target, f"assigns into the module {root}")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                self._assigned(item)

    def visit_Assign(self, node):
        for target in node.targets:
            self._assigned(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._assigned(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._assigned(target)
        self.generic_visit(node)

    def visit_Global(self, node):
        self.note(node, "declares a global")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and _SPECIAL_TEXT.search(node.value):
            self.note(node, f"a string naming {_SPECIAL_TEXT.search(node.value).group(0)}")
        elif isinstance(node.value, bytes):
            self.note(node, "a bytes literal")


def _code(source):
    """The cell's Python, with IPython's magics and shell escapes turned into notes."""
    lines, notes = [], []
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            notes.append((number, f"an IPython magic or shell command ({stripped.split()[0]})"))
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines), notes


def review_reasons(cells, limit=10):
    """``["label, line 3: uses the private ... | <the line>", ...]`` for the cells' code.

    ``cells`` is ``[(label, source), ...]`` (the learner's code cells). A cell that is not valid
    Python is read as text only (the cell itself will fail to run).
    """
    reasons = []
    for label, source in cells:
        code, found = _code(source)
        try:
            reader = _Reader()
            reader.visit(parse_python(code))
            found += reader.found
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
        lines = source.splitlines()
        found += [(number, "uses low-level tools") for number, line in enumerate(lines, 1)
                  if _LEGACY.search(line)]
        for number, why in sorted(set(found)):
            text = lines[number - 1].strip()[:100] if 0 < number <= len(lines) else ""
            reasons.append(f"{label}, line {number}: {why} | {text}")
            if len(reasons) >= limit:
                return reasons
    return reasons
