"""Families of ATen operators, and switching a family off for the whole process.

A graded part forbids the operation it teaches, however it is spelled (``F.conv2d``,
``nn.Conv2d``, ``torch.ops.aten.convolution``, a backend's own ``mkldnn::`` kernel): each family
is a regex over operator names (`CONVOLUTION`, `POOLING`, `PADDING`, `UNFOLD`, `UNPOOLING`).
`family_ops` lists the registered operators of a family; `disable_ops` replaces their kernels
in every thread, for good (the learner process does it before any learner code runs). The
per-call watch that names the learner's line is `autograder.op_watch`.

This module needs only torch and the standard library.
"""
from __future__ import annotations

import re

import torch

from .errors import ForbiddenOpError
from .op_watch import forbidden_message

__all__ = ["CONVOLUTION", "POOLING", "PADDING", "UNFOLD", "UNPOOLING", "family_ops",
           "disable_ops"]

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
    kernels replaced. Used by `autograder.learner_process` before any learner code runs.
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
