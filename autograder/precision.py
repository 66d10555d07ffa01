"""Full float32 precision while references are computed: TF32 off in cuDNN and cuBLAS.

A leaf module (torch and the standard library only), shared by the checks, the provided helpers
and the trusted grader.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext

import torch

__all__ = ["full_float32"]

# PyTorch's own test utilities freeze the backend flags on import (disable_global_flags); the
# checks must still switch TF32 off, as torch.backends.cudnn.flags() itself does.
_unfrozen_flags = getattr(torch.backends, "__allow_nonbracketed_mutation", nullcontext)


_TF32_LOCK = threading.Lock()
_TF32_USERS = [0, None]          # threads inside `full_float32`, and the flags saved by the first


@contextmanager
def full_float32():
    """Full float32 precision in cuDNN and cuBLAS (TF32 is on by default on recent GPUs).

    Safe in several threads at once (the threads of one Dask worker): the flags are switched
    off by the first thread in and restored by the last one out."""
    with _TF32_LOCK:
        if _TF32_USERS[0] == 0:
            _TF32_USERS[1] = (torch.backends.cudnn.allow_tf32,
                              torch.backends.cuda.matmul.allow_tf32)
            with _unfrozen_flags():
                torch.backends.cudnn.allow_tf32 = False
                torch.backends.cuda.matmul.allow_tf32 = False
        _TF32_USERS[0] += 1
    try:
        yield
    finally:
        with _TF32_LOCK:
            _TF32_USERS[0] -= 1
            if _TF32_USERS[0] == 0:
                with _unfrozen_flags():
                    (torch.backends.cudnn.allow_tf32,
                     torch.backends.cuda.matmul.allow_tf32) = _TF32_USERS[1]
