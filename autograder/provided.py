"""Correct versions of earlier parts, for the parts that build on them.

A part that needs an earlier function (chapter 3's ``conv2d_via_conv3d`` needs a 3-D
convolution, chapter 7's backward pass a transposed convolution, chapter 10's backward pass the
switches of max pooling and max-unpooling) calls it from here, so that its grade never depends
on the earlier part being right::

    from autograder import provided
    provided.conv3d(x, w)

Each function is PyTorch's own operation (``F.conv3d`` …) behind the signature of the exercise
it stands for, so reading this module teaches nothing that would answer an exercise. A part may
call the functions its `ExerciseInfo.may_use` lists; anywhere else during a check they refuse,
and calling PyTorch's operation directly is what the forbidden-operation check catches.

Where they run: in a learner's notebook (``check``), here, with the forbidden-operation watch
told to look away (`op_watch.provided_running`). In the grader's sandbox the exercise's operators
are disabled in the learner's process, so the kernel installs `remote`: the call is sent to the
grader, which computes it in its own process if, and only if, the part being graded may use it.
"""
from __future__ import annotations

import contextvars

import torch
import torch.nn.functional as F

from .errors import ForbiddenOpError
from .op_watch import provided_running

__all__ = ["corr2d", "pad2d", "conv2d", "conv3d", "conv_transpose2d", "im2col", "col2im",
           "max_pool2d_with_indices", "max_unpool2d"]

# The exercise being checked in this process (set by `checks.call_locally`), or None.
checking = contextvars.ContextVar("autograder_checking", default=None)
# Set by `autograder.learner_process` in a sandboxed learner process: remote(name, args, kwargs).
remote = None

_conv2d, _conv3d, _conv_transpose2d, _pad, _unfold, _fold, _pool, _unpool = (
    F.conv2d, F.conv3d, F.conv_transpose2d, F.pad, F.unfold, F.fold, F.max_pool2d,
    F.max_unpool2d)


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _corr2d(x, k):
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    out = _conv2d(x.reshape(-1, 1, h, w), k.reshape(1, 1, *k.shape))
    return out.reshape(*lead, *out.shape[-2:])


def _pad2d(x, padding):
    ph, pw = _pair(padding)
    return _pad(x, (pw, pw, ph, ph))


def _im2col(input, kernel_size, stride=1, padding=0, dilation=1):
    return _unfold(input, kernel_size, dilation=dilation, padding=padding, stride=stride)


def _col2im(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    return _fold(input, output_size, kernel_size, dilation=dilation, padding=padding,
                 stride=stride)


def _max_pool2d_with_indices(input, kernel_size, stride=None, padding=0):
    return tuple(_pool(input, kernel_size, stride, padding, return_indices=True))


def _max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _unpool(input, indices, kernel_size, stride, padding, output_size)


# name -> (PyTorch's operation, in the exercise's argument order; what the docstring says)
IMPLEMENTATIONS = {
    "corr2d": (_corr2d, "Valid 2-D cross-correlation of x (..., H, W) with k (kh, kw)."),
    "pad2d": (_pad2d, "x (..., H, W) with `padding` zeros (an int or a pair) on each side."),
    "conv2d": (_conv2d, "F.conv2d(input, weight, bias, stride, padding, dilation, groups)."),
    "conv3d": (_conv3d, "F.conv3d(input, weight, bias, stride, padding)."),
    "conv_transpose2d": (_conv_transpose2d, "F.conv_transpose2d(input, weight, bias, stride, "
                                            "padding, output_padding, groups, dilation)."),
    "im2col": (_im2col, "F.unfold: (N, C, H, W) -> (N, C*kh*kw, L); arguments "
                        "(input, kernel_size, stride, padding, dilation)."),
    "col2im": (_col2im, "F.fold: (N, C*kh*kw, L) -> (N, C, H, W); arguments "
                        "(input, output_size, kernel_size, stride, padding, dilation)."),
    "max_pool2d_with_indices": (_max_pool2d_with_indices,
                                "F.max_pool2d(input, kernel_size, stride, padding, "
                                "return_indices=True): (values, indices)."),
    "max_unpool2d": (_max_unpool2d, "F.max_unpool2d(input, indices, kernel_size, stride, "
                                    "padding, output_size)."),
}


def run(name, args, kwargs):
    """Compute ``provided.<name>(*args, **kwargs)`` with PyTorch (the grader calls this)."""
    return IMPLEMENTATIONS[name][0](*args, **kwargs)


# The grader computes `provided` calls in its own process, on arguments a learner chooses:
# each call must stay within MARGIN times the largest case its exercise uses.
MARGIN = 64
_LIMITS = {}


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def element_limit(info):
    """The most elements a tensor of a `provided` call may have in ``info``'s part: `MARGIN`
    times the largest tensor of its cases (visible, hidden, vectorisation inputs)."""
    if info.key not in _LIMITS:
        from .samples import Draw
        samples = [s for seed in (0, 1, 2) for hidden in (False, True)
                   for s in info.sample_inputs(Draw(seed), hidden)]
        for extra in (info.op_count_inputs, info.timing_inputs):
            if extra is not None:
                samples += list(extra(Draw(0)))
        largest = max([t.numel() for s in samples for t in _tensors((s.args, s.kwargs))] + [1])
        _LIMITS[info.key] = max(MARGIN * largest, 1 << 16)
    return _LIMITS[info.key]


def _on_meta(value):
    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=value.dtype, device="meta")
    if isinstance(value, (tuple, list)):
        return type(value)(_on_meta(v) for v in value)
    if isinstance(value, dict):
        return {k: _on_meta(v) for k, v in value.items()}
    return value


def oversized_argument(info, name, args, kwargs):
    """Why ``provided.<name>(*args, **kwargs)`` is refused for an argument larger than
    `element_limit` (the first check of `check_cost`), or ``""``. The limit is at least 2**16
    elements, so it is computed only for larger arguments."""
    for tensor in _tensors((args, kwargs)):
        if tensor.numel() > 1 << 16 and tensor.numel() > element_limit(info):
            return (f"an argument of autograder.provided.{name} has {tensor.numel():,} "
                    f"elements; this part's cases need at most {element_limit(info):,}")
    return ""


def check_cost(info, name, args, kwargs):
    """Raise ValueError, before any work, when ``provided.<name>(*args, **kwargs)`` would be far
    larger than ``info``'s cases need: a tensor, or the result (computed on the meta device, no
    memory), of more than `element_limit` elements, or more than `MARGIN` times that many
    multiply-adds (result elements times kernel taps)."""
    too_large = oversized_argument(info, name, args, kwargs)
    if too_large:
        raise ValueError(too_large)
    limit = element_limit(info)
    try:
        result = run(name, _on_meta(tuple(args)), _on_meta(dict(kwargs)))
    except Exception:
        return          # invalid arguments: the real call fails at once, with PyTorch's message
    size = sum(t.numel() for t in _tensors(result))
    if size > limit:
        raise ValueError(f"autograder.provided.{name} would return {size:,} elements; this "
                         f"part's cases need at most {limit:,}: check its arguments")
    weights = [t for t in _tensors((args, kwargs))][1:2]
    taps = weights[0].numel() // max(1, weights[0].shape[0]) if weights and weights[0].dim() \
        else 1
    if name in ("pad2d", "max_unpool2d"):
        taps = 1
    if size * max(taps, 1) > MARGIN * limit:
        raise ValueError(f"autograder.provided.{name} would take {size * taps:,} multiply-adds; "
                         f"this part's cases need at most {MARGIN * limit:,}")


def _provided(name):
    def function(*args, **kwargs):
        if remote is not None:
            return remote(name, args, kwargs)
        info = checking.get()
        if info is not None and name not in info.may_use:
            raise ForbiddenOpError(
                f"{info.name} called autograder.provided.{name}, which this part may not use: "
                f"write {info.name} with your own code.")
        from .precision import full_float32   # as the grader computes it
        token = provided_running.set(True)
        try:
            with full_float32():
                return run(name, args, kwargs)
        finally:
            provided_running.reset(token)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = IMPLEMENTATIONS[name][1]
    return function


(corr2d, pad2d, conv2d, conv3d, conv_transpose2d, im2col, col2im, max_pool2d_with_indices,
 max_unpool2d) = (_provided(name) for name in __all__)
