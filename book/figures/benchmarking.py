"""Timings a reader can trust: warm-up, repetitions side by side, and the spread, not one number.

The book's page on timing (book/09_timing.md) and ``benchmarks/im2col_vs_torch.py`` measure
with these helpers, and time the same two functions of chapter 9, `conv2d_loops` and
`conv2d_gemm`, so the figures the page quotes from ``benchmarks/results/`` and the ones it
measures on build mean the same thing.

* `time_side_by_side` calls every function a few times first (the first calls allocate memory,
  pick kernels and fill caches), then measures in rounds: in each round every function runs
  once, so a busy spell of the machine slows all of them rather than one.
* `Spread` is the median and the interquartile range of a list of timings.
* `paired_ratios` divides two methods' timings round by round (both ran in the same round,
  under the same load), and `ordering` reads the result: "slower" or "faster" only when the
  ratio's interquartile range lies wholly above or below 1, that is when one method won in
  about three rounds out of four or more; otherwise the measurement cannot tell the two apart,
  and the text must say so.
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["time_side_by_side", "Spread", "spread", "ordering", "paired_ratios", "machine",
           "conv2d_loops", "conv2d_gemm"]


def conv2d_loops(x, weight, padding=0):
    """F.conv2d (stride 1, groups 1) with one small matrix product per output position:
    chapter 9's loops version."""
    import torch.nn.functional as F

    x = F.pad(x, (padding,) * 4)
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    flat = weight.reshape(c_out, -1)
    y = x.new_zeros(n, c_out, h - kh + 1, w - kw + 1)
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            y[:, :, i, j] = x[:, :, i:i + kh, j:j + kw].reshape(n, -1) @ flat.T
    return y


def conv2d_gemm(x, weight, padding=0):
    """F.conv2d (stride 1, groups 1) as chapter 9's im2col in plain PyTorch (``F.pad``, two
    ``Tensor.unfold`` views, one copy) and one matrix product."""
    import torch.nn.functional as F

    n, c_in = x.shape[:2]
    c_out, _, kh, kw = weight.shape
    windows = F.pad(x, (padding,) * 4).unfold(2, kh, 1).unfold(3, kw, 1)
    h_out, w_out = windows.shape[2:4]                     # (N, C, H_out, W_out, kh, kw)
    columns = windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c_in * kh * kw, h_out * w_out)
    return (weight.reshape(c_out, -1) @ columns).reshape(n, c_out, h_out, w_out)


def time_side_by_side(functions, rounds=15, warmup=3, min_sample_s=2e-3, sync=None,
                      clock=time.perf_counter):
    """Seconds per call of each function, measured in interleaved rounds.

    Args:
        functions: {name: zero-argument callable}.
        rounds: samples per function (one per round).
        warmup: untimed calls of each function first.
        min_sample_s: a sample times ``number`` calls in a row, ``number`` chosen from the
            warm-up so that a sample lasts at least this long (the clock's resolution and the
            cost of reading it then do not matter).
        sync: called after each sample before the clock is read (``torch.cuda.synchronize``
            for GPU work, which would otherwise only be queued).
        clock: seconds, read before and after each sample. The default is the wall clock.
            ``time.process_time`` counts only the processor time this process used, so that
            time spent waiting while other programs ran is left out: on a shared machine, with
            PyTorch on one thread, it measures the work, not the queue (never for GPU work).
    Returns:
        {name: [seconds per call, one value per round]}.
    """
    sync = sync or (lambda: None)
    numbers = {}
    for name, fn in functions.items():
        start = clock()
        for _ in range(warmup):
            fn()
        sync()
        per_call = (clock() - start) / max(warmup, 1)
        numbers[name] = max(1, int(min_sample_s / max(per_call, 1e-9)) + 1)
    samples = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            number = numbers[name]
            start = clock()
            for _ in range(number):
                fn()
            sync()
            samples[name].append((clock() - start) / number)
    return samples


@dataclass(frozen=True)
class Spread:
    """Median and quartiles of ``n`` timings (or ratios)."""
    median: float
    q1: float
    q3: float
    n: int

    def scaled(self, factor):
        return Spread(self.median * factor, self.q1 * factor, self.q3 * factor, self.n)

    def as_dict(self):
        return {"median": self.median, "q1": self.q1, "q3": self.q3, "n": self.n}


def spread(values):
    """The median and interquartile range of ``values`` (at least two)."""
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Spread(median, q1, q3, len(values))


def paired_ratios(samples_a, samples_b):
    """a / b round by round: both were measured in the same round, under the same load."""
    return spread([a / b for a, b in zip(samples_a, samples_b)])


def ordering(ratio: Spread):
    """How a compares with b, from the round-by-round ratio a / b (`paired_ratios`): "slower"
    if its interquartile range lies wholly above 1, "faster" if wholly below, else
    "indistinguishable"."""
    if ratio.q1 > 1:
        return "slower"
    if ratio.q3 < 1:
        return "faster"
    return "indistinguishable"


def machine():
    """What timings depend on: processor, threads, GPU, versions, date."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__, "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": datetime.date.today().isoformat(),
    }
