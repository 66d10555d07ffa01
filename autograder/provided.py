"""Correct implementations of earlier parts, for the parts that build on them.

A part that needs an earlier function (chapter 3's ``conv2d_via_conv3d`` needs a 3-D
convolution, chapter 7's backward pass a transposed convolution) calls it from here, so its grade
never depends on the earlier part being right::

    from autograder import provided
    provided.conv3d(x, w)

Each function mirrors its ``torch.nn.functional`` namesake (same arguments, same result, on any
device and dtype) and is written with the operations the exercises allow (views, ``einsum``,
slicing), so no exercise's forbidden-operation check trips on it. During a check, a function here
only runs for the parts whose `ExerciseInfo.may_use` lists it: it is not an answer to its own
exercise.
"""
from __future__ import annotations

import contextvars
import functools

import torch

from .errors import ForbiddenOpError

__all__ = ["corr2d", "pad2d", "conv2d", "conv3d", "conv_transpose2d", "im2col", "col2im"]

# The exercise being checked in this process (set by `checks.call_locally`), or None.
checking = contextvars.ContextVar("autograder_checking", default=None)


def _helper(function):
    """Refuse to run inside the check of a part that may not use ``function``."""
    @functools.wraps(function)
    def guarded(*args, **kwargs):
        info = checking.get()
        if info is not None and function.__name__ not in info.may_use:
            raise ForbiddenOpError(
                f"{info.name} called autograder.provided.{function.__name__}, which this part "
                f"may not use: write {info.name} with your own code.")
        return function(*args, **kwargs)
    return guarded


def _pair(value, n=2):
    return (value,) * n if isinstance(value, int) else tuple(value)


def _zero_pad(x, pads):
    """``x`` with ``pads[i]`` zeros on both sides of its last ``len(pads)`` axes."""
    if not any(pads):
        return x
    lead = x.shape[:x.dim() - len(pads)]
    shape = list(lead) + [n + 2 * p for n, p in zip(x.shape[-len(pads):], pads)]
    out = x.new_zeros(shape)
    out[(...,) + tuple(slice(p, p + n) for n, p in zip(x.shape[-len(pads):], pads))] = x
    return out


def _windows(x, kernel, stride, dilation):
    """Strided view of every window of the last ``len(kernel)`` axes of ``x``.

    Returns shape ``x.shape[:-n] + out_sizes + kernel``: ``[..., i, j, a, b]`` is
    ``x[..., s_h i + d_h a, s_w j + d_w b]``.
    """
    n = len(kernel)
    first = x.dim() - n
    for axis, (k, s, d) in enumerate(zip(kernel, stride, dilation)):
        x = x.unfold(first + axis, d * (k - 1) + 1, s)
    spans = tuple(slice(None, None, d) for d in dilation)
    return x[(...,) + spans]


@_helper
def corr2d(x, k):
    """Valid 2-D cross-correlation of ``x`` (..., H, W) with ``k`` (kh, kw)."""
    return torch.einsum("...ijab,ab->...ij", _windows(x, k.shape, (1, 1), (1, 1)), k)


@_helper
def pad2d(x, padding):
    """``F.pad(x, (p_w, p_w, p_h, p_h))`` with ``padding`` an int or a pair (p_h, p_w)."""
    return _zero_pad(x, _pair(padding))


@_helper
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``F.conv2d``: ``input`` (N, C_in, H, W), ``weight`` (C_out, C_in/groups, kh, kw)."""
    n, c_in = input.shape[:2]
    c_out, _, kh, kw = weight.shape
    windows = _windows(_zero_pad(input, _pair(padding)), (kh, kw), _pair(stride),
                       _pair(dilation))
    out_h, out_w = windows.shape[2:4]
    windows = windows.reshape(n, groups, c_in // groups, out_h, out_w, kh, kw)
    weight = weight.reshape(groups, c_out // groups, c_in // groups, kh, kw)
    out = torch.einsum("ngcijab,gocab->ngoij", windows, weight).reshape(n, c_out, out_h, out_w)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


@_helper
def conv3d(input, weight, bias=None, stride=1, padding=0):
    """``F.conv3d``: ``input`` (N, C_in, D, H, W), ``weight`` (C_out, C_in, kd, kh, kw)."""
    windows = _windows(_zero_pad(input, _pair(padding, 3)), weight.shape[2:],
                       _pair(stride, 3), (1, 1, 1))
    out = torch.einsum("ncdijuab,ocuab->nodij", windows, weight)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1, 1)


@_helper
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """``F.conv_transpose2d``: ``input`` (N, C_in, H, W), ``weight`` (C_in, C_out/groups, kh, kw)."""
    n, c_in, h, w = input.shape
    _, c_group, kh, kw = weight.shape
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    (oph, opw), (dh, dw) = _pair(output_padding), _pair(dilation)
    full_h, full_w = (h - 1) * sh + dh * (kh - 1) + 1 + oph, (w - 1) * sw + dw * (kw - 1) + 1 + opw
    out = input.new_zeros(n, groups, c_group, full_h, full_w)
    x = input.reshape(n, groups, c_in // groups, h, w)
    weight = weight.reshape(groups, c_in // groups, c_group, kh, kw)
    for a in range(kh):            # every input pixel stamps tap (a, b) of its kernel
        for b in range(kw):
            out[..., a * dh:a * dh + (h - 1) * sh + 1:sh, b * dw:b * dw + (w - 1) * sw + 1:sw] += (
                torch.einsum("ngcij,gco->ngoij", x, weight[..., a, b]))
    out = out.reshape(n, groups * c_group, full_h, full_w)
    out = out[..., ph:full_h - ph, pw:full_w - pw]
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


@_helper
def im2col(input, kernel_size, stride=1, padding=0, dilation=1):
    """``F.unfold``: (N, C, H, W) -> (N, C*kh*kw, L), rows ordered (channel, tap row, tap column)."""
    kh, kw = _pair(kernel_size)
    n, c = input.shape[:2]
    windows = _windows(_zero_pad(input, _pair(padding)), (kh, kw), _pair(stride),
                       _pair(dilation))
    return windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, -1)


@_helper
def col2im(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """``F.fold``: (N, C*kh*kw, L) -> (N, C, H, W), overlapping window values summed."""
    (h, w), (kh, kw) = _pair(output_size), _pair(kernel_size)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    n = input.shape[0]
    cols = input.reshape(n, -1, kh, kw, out_h, out_w)
    out = input.new_zeros(n, cols.shape[1], h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            out[..., a * dh:a * dh + (out_h - 1) * sh + 1:sh,
                b * dw:b * dw + (out_w - 1) * sw + 1:sw] += cols[:, :, a, b]
    return out[..., ph:ph + h, pw:pw + w]
