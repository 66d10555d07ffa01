"""Watching a learner's function at the dispatcher: forbidden operations, autograd, NumPy.

`forbid_ops` runs the function under two modes: a ``TorchDispatchMode`` that sees every ATen
operator, so every alias of a forbidden operation is caught however it is spelled, and a
``TorchFunctionMode`` that refuses conversions to NumPy and, when asked, any use of autograd. A
forbidden call raises at once and is also recorded (`OpRecord`), because learner code could
catch the error. The messages name the Python call and the learner's line (`call_site`).

This module needs only torch and the standard library.
"""
from __future__ import annotations

import contextvars
import os
import re
import sys
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from .errors import ForbiddenOpError, LeftTorchError

__all__ = ["forbid_ops", "OpRecord", "provided_running", "call_site", "is_library_file",
           "forbidden_message", "autograd_message", "scratch_message", "SCRATCH",
           "BACKWARD_PASS"]

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

    @classmethod
    def _should_skip_dynamo(cls):
        # No torch._dynamo.disable wrapper around __torch_dispatch__: it imported torch._dynamo
        # at the first watched operation (~1.4 s in every process) and cost ~5 us per operation.
        # Forbidden calls and operator counts inside torch.compile are the same either way
        # (tests/test_guard.py).
        return False

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
