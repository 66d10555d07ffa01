"""Guards around a learner's function: forbidden operations, time limits and tampering.

Three things can make a correct-looking result untrustworthy, and each has a guard here:

* the learner calls the operation being taught (``F.conv2d``, ``nn.Conv2d``,
  ``torch.ops.aten.convolution`` …). `forbid_ops` watches every ATen operator at the dispatcher
  (a ``TorchDispatchMode``), so every alias of an operation is caught, however it is spelled;
* the learner's function never returns. `time_limit` interrupts it;
* the notebook replaces what the checks rely on (``torch.allclose``, ``torch.testing.assert_close``,
  this library's functions, IPython's exception reporting). `Integrity` snapshots all of it when
  the library is first imported (in the notebook's locked set-up cell, before any learner code
  runs) and, before every check, restores exception reporting and reports anything replaced.

This module needs only torch and the standard library.
"""
from __future__ import annotations

import builtins
import contextvars
import os
import re
import signal
import sys
import threading
import types
from contextlib import contextmanager

import torch
import torch._dynamo  # noqa: F401 - imported by the dispatcher modes anyway; it rebinds
# torch.manual_seed when first imported, so import it before the integrity snapshot.
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from .errors import ForbiddenOpError, LearnerTimeout, LeftTorchError, TamperingError

__all__ = [
    "CONVOLUTION", "POOLING", "PADDING", "UNFOLD", "UNPOOLING",
    "forbid_ops", "time_limit", "Integrity", "ReadOnlyModule", "make_read_only",
    "family_ops", "disable_ops",
]

# Families of ATen operators, matched against the operator's name without the "aten::" prefix.
# CompositeImplicit ops (conv2d, max_pool2d …) decompose before the dispatcher mode sees them, so
# the patterns also cover what they decompose into (convolution, max_pool2d_with_indices …).
CONVOLUTION = r"convolution|conv(\d|_transpose|_tbc|_depthwise)|slow_conv|thnn_conv"
POOLING = r"pool"
PADDING = r"^_?pad$|_pad(\d|_nd|_|$)|^pad_"
UNFOLD = r"^(im2col|col2im)$"
UNPOOLING = r"unpool"


# Dispatch keys that can hold a kernel of a forbidden operator; `disable_ops` replaces the kernel
# of each one the operator has, so no path through the dispatcher reaches the original.
_DISPATCH_KEYS = (
    "CPU", "CUDA", "Meta", "MPS", "XPU", "HIP", "MkldnnCPU", "QuantizedCPU", "QuantizedCUDA",
    "SparseCPU", "SparseCUDA", "SparseCsrCPU", "SparseCsrCUDA", "NestedTensorCPU",
    "NestedTensorCUDA", "AutogradCPU", "AutogradCUDA", "AutogradMeta", "AutogradOther",
    "AutogradMPS", "AutogradXPU", "AutogradNestedTensor", "CompositeImplicitAutograd",
    "CompositeImplicitAutogradNestedTensor", "CompositeExplicitAutograd",
    "CompositeExplicitAutogradNonFunctional", "FuncTorchBatched", "BackendSelect",
    "ADInplaceOrView", "Functionalize", "AutocastCPU", "AutocastCUDA", "ZeroTensor",
    "Conjugate", "Negative",
)


def family_ops(pattern):
    """Every registered operator, in every namespace (aten, mkldnn, quantized …), whose name
    matches ``pattern`` (the same regex `forbid_ops` uses), e.g. ``"mkldnn::_convolution_pointwise"``."""
    regex = re.compile(pattern)
    found = []
    for full in torch._C._dispatch_get_all_op_names():
        namespace, _, rest = full.partition("::")
        if regex.search(rest.split(".")[0]):
            found.append(full)
    return sorted(found)


def disable_ops(pattern, on_call):
    """Replace, for the whole process and for good, every kernel of every operator matching ``pattern``.

    Each replacement calls ``on_call(op_name)``, which must raise. Unlike `forbid_ops` (a
    dispatcher mode, seen only by the thread that pushed it), this holds in every thread and for
    every alias, backend and namespace. The registrations are deliberately leaked: no Python
    object refers to them, so notebook code cannot find and undo them. Returns the number of
    kernels replaced. Used by `autograder.kernel` before any learner code runs.
    """
    import ctypes
    import warnings

    def make(op_name):
        def kernel(*args, **kwargs):
            on_call(op_name)
            raise ForbiddenOpError(forbidden_message("your function", op_name))
        return kernel

    libraries, count = {}, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # "Overriding a previously registered kernel"
        for full in family_ops(pattern):
            namespace, _, name = full.partition("::")
            library = libraries.get(namespace)
            if library is None:
                library = libraries[namespace] = torch._C._dispatch_library("IMPL", namespace, "")
            for key in _DISPATCH_KEYS:
                try:
                    if torch._C._dispatch_has_kernel_for_dispatch_key(full, key):
                        library.impl(name, key, make(name.split(".")[0]))
                        count += 1
                except RuntimeError:        # a key this build does not know
                    continue
    for library in libraries.values():      # keep them alive with no Python reference
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(library))
    return count


# True while `autograder.provided` runs PyTorch's own operation for a part that may use it: the
# watch neither forbids nor counts those operations. In-process checks only (instant feedback);
# in the grader's sandbox the provided functions run in the grader's process instead.
provided_running = contextvars.ContextVar("autograder_provided_running", default=False)


class _DispatchWatch(TorchDispatchMode):
    """Records every ATen operator call; raises on the first forbidden one.

    With ``autograd``, also on any operation that autograd records or runs: an argument that
    requires grad, or a backward pass in progress (`torch._C._current_graph_task_id`). This is
    the second of two watches for autograd (the first is `_FunctionWatch`): switching off
    ``__torch_function__`` (``torch._C.DisableTorchFunction()``) does not switch off this one.
    """

    def __init__(self, pattern, function_name, autograd=False):
        super().__init__()
        self.pattern = re.compile(pattern) if pattern else None
        self.function_name = function_name
        self.forbid_autograd = autograd
        self.forbidden_calls = []
        self.autograd_calls = []
        self.op_count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if provided_running.get():
            return func(*args, **(kwargs or {}))
        name = func._schema.name.split("::")[-1]
        if self.pattern is not None and self.pattern.search(name):
            self.forbidden_calls.append((name, call_site()))
            raise ForbiddenOpError(forbidden_message(self.function_name, name,
                                                     self.forbidden_calls[-1][1]))
        if self.forbid_autograd and (_current_graph_task() != -1
                                     or _needs_autograd(func, args, kwargs)):
            what = BACKWARD_PASS if _current_graph_task() != -1 else name
            self.autograd_calls.append(what)
            raise ForbiddenOpError(autograd_message(self.function_name, what))
        self.op_count += 1
        return func(*args, **(kwargs or {}))


_current_graph_task = torch._C._current_graph_task_id
BACKWARD_PASS = "a backward pass"


_NUMPY_EXITS = {torch.Tensor.numpy, torch.Tensor.__array__}


class _FunctionWatch(TorchFunctionMode):
    """Refuses conversions to NumPy (CPU only) and, when asked, any use of autograd.

    Autograd shows at this level as an argument that requires grad: ``requires_grad_()``,
    ``torch.autograd.grad`` and ``backward`` all need one, and so does ``torch.func.grad``,
    whose wrapped inputs require grad inside the transform.
    """

    def __init__(self, function_name, autograd=False):
        super().__init__()
        self.function_name = function_name
        self.exits = []
        self.forbid_autograd = autograd
        self.autograd_calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if provided_running.get():
            return func(*args, **(kwargs or {}))
        if func in _NUMPY_EXITS:
            self.exits.append(func.__name__)
            raise LeftTorchError(
                f"{self.function_name} converted a tensor to NumPy (Tensor.{func.__name__}). "
                "Write it with torch operations only, so that it also runs on a GPU.")
        if self.forbid_autograd and _needs_autograd(func, args, kwargs):
            name = _python_name(func)
            if (kwargs or {}).get("requires_grad"):
                name = f"{name}(..., requires_grad=True)"
            self.autograd_calls.append(name)
            raise ForbiddenOpError(autograd_message(self.function_name, name, call_site()))
        return func(*args, **(kwargs or {}))


def _needs_autograd(func, args, kwargs):
    if (kwargs or {}).get("requires_grad"):
        return True
    values = list(args) + list((kwargs or {}).values())
    values += [v for value in values if isinstance(value, (tuple, list)) for v in value]
    return any(isinstance(v, torch.Tensor) and v.requires_grad for v in values)


_OPERATORS = {"__getitem__": "indexing (x[...])", "__setitem__": "index assignment (x[...] = v)",
              "__mul__": "*", "__add__": "+", "__sub__": "-", "__matmul__": "@",
              "__truediv__": "/"}


def _python_name(func):
    """How a learner wrote the function a `TorchFunctionMode` sees: ``Tensor.sum``,
    ``torch.mul``, ``F.conv2d``; reading or setting an attribute shows as ``Tensor.grad``."""
    name = getattr(func, "__name__", None) or repr(func)
    owner = getattr(func, "__self__", None)
    if name in ("__get__", "__set__") and getattr(owner, "__name__", None):
        return f"Tensor.{owner.__name__}"
    if name in _OPERATORS:
        return _OPERATORS[name]
    qualified = getattr(func, "__qualname__", "") or ""
    if qualified.startswith(("TensorBase.", "Tensor.")):
        return f"Tensor.{name}"
    module = getattr(func, "__module__", None) or ""
    return f"{_SPELLING.get(module, module or 'torch')}.{name}"


def autograd_message(function_name, op_name, site=""):
    how = (f"created a tensor with {op_name.split('(')[0]}(..., requires_grad=True)"
           if op_name.endswith("requires_grad=True)") else
           "ran a backward pass (torch.autograd)" if op_name == BACKWARD_PASS else
           f"used {op_name} on a tensor that requires grad")
    how += f" ({site})" if site else ""
    return (f"{function_name} used autograd: it {how}. This "
            "exercise is about computing the gradients yourself: write them as convolutions "
            "of the upstream gradient, without requires_grad, backward or torch.autograd.")


def forbidden_message(function_name, op_name, site=""):
    """Why a forbidden call failed; ``site`` (`call_site`) names the learner's line that made it."""
    where = f" through {site}" if site else " (reached through F.*, torch.*, nn.* or torch.ops.aten)"
    return (f"{function_name} called the forbidden operation aten.{op_name}{where}. This "
            "exercise is about implementing it yourself: build it from elementwise operations, "
            "sums, matmul, indexing or views.")


# The first words of `scratch_message`: how the grader tells a comparison cell from an error.
SCRATCH = "This cell called aten."


def scratch_message(op_name, site=""):
    """Why a cell (not a graded function) that calls an operation this part forbids gets no
    result while the grader runs it."""
    return (f"{SCRATCH}{op_name}{f' through {site}' if site else ''}, which the grader switches "
            "off while it checks this part's functions. That is fine in a cell that compares "
            "your function with PyTorch: the grader only skips this cell's result. A graded "
            "function must not call it.")


_LIBRARY_ROOTS = tuple({os.path.dirname(os.path.dirname(torch.__file__)),
                        os.path.dirname(os.__file__), os.path.dirname(__file__)})


def is_library_file(filename):
    """True for Python's, PyTorch's, installed packages' and this library's own files."""
    return filename.startswith(_LIBRARY_ROOTS) or filename.startswith("<frozen")


# How learners write the modules whose functions they call.
_SPELLING = {"torch.nn.functional": "F", "torch.functional": "torch", "torch._tensor": "Tensor",
             "torch.fft": "torch.fft", "torch": "torch"}


def call_site(is_learner_file=None):
    """Where the operator now running was called from in the learner's code, in words:
    ``"F.unfold, line 4 in corr2d: cols = F.unfold(x, k.shape)"``, or "" outside learner code.

    The line is the deepest learner frame's; the Python function named is the library function
    that line called, when it is written in Python (``F.unfold``, ``torch.einsum``); a function
    written in C (``torch.fft.rfft2``) shows in the line itself."""
    import linecache

    is_learner_file = is_learner_file or (lambda name: not is_library_file(name))
    frame, callee = sys._getframe(1), None
    while frame is not None:
        code = frame.f_code
        if is_learner_file(code.co_filename):
            text = linecache.getline(code.co_filename, frame.f_lineno).strip()
            where = f"line {frame.f_lineno}" + (
                f" in {code.co_name}" if code.co_name != "<module>" else "") + (
                f": {text}" if text else "")
            return f"{callee}, {where}" if callee else where
        module = frame.f_globals.get("__name__", "")
        if module.startswith("torch"):
            callee = f"{_SPELLING.get(module, module)}.{code.co_name}"
        frame = frame.f_back
    return ""


class OpRecord:
    """What `forbid_ops` saw: forbidden calls (even if the learner caught the error), op count."""

    def __init__(self, dispatch, function):
        self._dispatch, self._function = dispatch, function

    @property
    def forbidden_calls(self):
        """The forbidden operators called (names, e.g. ``"im2col"``), in order."""
        return [name for name, _ in self._dispatch.forbidden_calls]

    @property
    def numpy_exits(self):
        return list(self._function.exits)

    @property
    def op_count(self):
        """Number of (allowed) ATen operator calls dispatched."""
        return self._dispatch.op_count

    def raise_if_violated(self):
        """Fail even when learner code caught the error raised at the forbidden call."""
        if self.forbidden_calls:
            raise ForbiddenOpError(forbidden_message(self._dispatch.function_name,
                                                     *self._dispatch.forbidden_calls[0]))
        autograd_calls = self._function.autograd_calls + self._dispatch.autograd_calls
        if autograd_calls:
            raise ForbiddenOpError(autograd_message(self._function.function_name,
                                                    autograd_calls[0]))
        if self.numpy_exits:
            raise LeftTorchError(
                f"{self._function.function_name} converted a tensor to NumPy "
                f"(Tensor.{self.numpy_exits[0]}); use torch operations only.")


@contextmanager
def forbid_ops(pattern, function_name="your function", autograd=False):
    """Run the body with every ATen call matching ``pattern`` (a regex) forbidden.

    Yields an `OpRecord`. A forbidden call raises `ForbiddenOpError` at once; because learner
    code could catch that, the caller should also call ``record.raise_if_violated()`` after the
    body. ``pattern=None`` forbids nothing and only counts operators. ``autograd=True`` also
    forbids autograd (any operation on a tensor that requires grad).
    """
    dispatch = _DispatchWatch(pattern, function_name, autograd)
    function = _FunctionWatch(function_name, autograd)
    with function, dispatch:
        yield OpRecord(dispatch, function)


@contextmanager
def time_limit(seconds, function_name="your function"):
    """Raise `LearnerTimeout` inside the body if it runs longer than ``seconds``.

    Uses SIGALRM, so it works in the main thread on POSIX (where Jupyter kernels and pytest run
    code); elsewhere the body runs without a limit. The alarm re-fires every half second, so a
    learner's loop that catches the first interruption is interrupted again. During grading, a
    loop that swallows every interruption is ended from outside: the trusted grader kills the
    learner process when the call's deadline passes (`autograder.sandbox.Learner`).
    """
    usable = (hasattr(signal, "setitimer") and seconds
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    fired = []

    def on_alarm(signum, frame):
        fired.append(signum)
        raise LearnerTimeout(f"{function_name} did not return within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_BUILTIN_NAMES = (
    "isinstance", "issubclass", "type", "getattr", "setattr", "hasattr", "len", "range", "repr",
    "str", "int", "float", "bool", "tuple", "list", "dict", "abs", "min", "max", "sum", "all",
    "any", "zip", "enumerate", "print", "__import__", "BaseException", "Exception",
    "AssertionError", "ValueError", "TypeError", "NotImplementedError", "KeyboardInterrupt",
)


def _namespaces():
    """The namespaces whose entries the checks and the references rely on."""
    import torch.nn.functional as F
    import torch.testing
    spaces = {
        "torch": vars(torch), "torch.nn.functional": vars(F), "torch.testing": vars(torch.testing),
        "torch.Tensor": vars(torch.Tensor), "torch.nn": vars(torch.nn),
    }
    for name, module in list(sys.modules.items()):
        if name == "autograder" or name.startswith("autograder."):
            spaces[name] = vars(module)
    return spaces


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
        current = _namespaces()
        current["builtins"] = vars(builtins)
        for space, entries in cls._snapshot.items():
            now = current.get(space)
            if now is None:
                replaced.append(f"{space} (module removed)")
                continue
            for name, original in entries.items():
                if name not in now:
                    replaced.append(f"{space}.{name} (deleted)")
                elif now[name] is not original:
                    replaced.append(f"{space}.{name}")
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
