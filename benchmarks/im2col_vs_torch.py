"""How fast is a convolution written as im2col + one matrix product, next to F.conv2d?

    .venv/bin/python benchmarks/im2col_vs_torch.py [--sizes 8 16 32 64 128] [--loop-sizes 8 16 32]
        [--rounds 31] [--threads N] [--clock wall|cpu] [--channels 8 16] [--kernel 3]
        [--output results.json]

Times, for each square input size ("same" padding, stride 1, batch 1, float32), three ways of
computing the same convolution, side by side: Python loops over the output positions (only for
``--loop-sizes``), im2col in plain PyTorch (``F.pad``, two ``Tensor.unfold`` views, one copy,
one ``matmul``: the method of chapter 9) and ``F.conv2d``; on the CPU, and ``F.conv2d`` also on
the first CUDA GPU when there is one. The first two are ``conv2d_loops`` and ``conv2d_gemm`` of
book/figures/benchmarking.py, the functions the book's page on timing (book/09_timing.md) measures on
build. The results are compared with ``F.conv2d`` before anything is timed.

Measurement (book/figures/benchmarking.py): each function is called a few times first, then timed in
``--rounds`` interleaved rounds (every method once per round, so a busy spell of the machine
slows all of them alike); each sample repeats the call enough times to last 2 ms. ``--clock
cpu`` reads the processor time of the process instead of the wall clock: with ``--threads 1``,
time spent waiting while other programs run is left out. Prints, per size and method, the median
time per call and its interquartile range, and the ratios loops / im2col and im2col /
F.conv2d computed round by round, with what each supports (``ordering``: slower or faster only
when the ratio's interquartile range excludes 1). With ``--output`` it also writes all of this, with the machine, the load average, the
versions and the date, as JSON.

The book quotes two committed files, measured on the same machine the same day:

    --threads 1 --clock cpu --output benchmarks/results/im2col_vs_torch.json
    --output benchmarks/results/im2col_vs_torch_wall.json      (wall clock, PyTorch's threads)

Run it on a machine as idle as you can find, and commit new files together with any change to
the page's text that they call for: the page states orderings from them only where they
support one, and asserts the few facts its fixed text relies on, so the build says when the
text no longer holds.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "book"))   # book/figures
from figures.benchmarking import (Spread, conv2d_gemm, conv2d_loops,  # noqa: E402
                                  machine, ordering, paired_ratios, spread,
                                  time_side_by_side)


def cpu_backend(x, weight, padding):
    """The kernel F.conv2d picks on the CPU for these arguments (a private PyTorch helper)."""
    select = getattr(torch._C, "_select_conv_backend", None)
    if select is None:
        return "?"
    return str(select(x, weight, None, [1, 1], [padding] * 2, [1, 1], False, [0, 0], 1,
                      None)).split(".")[-1]


PAIRS = (("loops", "im2col"), ("im2col", "F.conv2d"))


def run(device, sizes, loop_sizes, rounds, channels, kernel, clock=time.perf_counter):
    """{size: {"times": {method: Spread}, "ratios": {"a / b": Spread}, "F.conv2d kernel"}},
    the Spreads as dicts."""
    c_in, c_out = channels
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(c_out, c_in, kernel, kernel, generator=generator).to(device)
    padding = kernel // 2
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    results = {}
    for size in sizes:
        x = torch.randn(1, c_in, size, size, generator=generator).to(device)
        methods = {"F.conv2d": lambda: F.conv2d(x, weight, padding=padding)}
        if device.type == "cpu":
            methods = {"im2col": lambda: conv2d_gemm(x, weight, padding), **methods}
            if size in loop_sizes:
                methods = {"loops": lambda: conv2d_loops(x, weight, padding), **methods}
        expected = F.conv2d(x, weight, padding=padding)
        for name, fn in methods.items():
            torch.testing.assert_close(fn(), expected, rtol=1e-4, atol=1e-4, msg=name)
        samples = time_side_by_side(methods, rounds=rounds, sync=sync, clock=clock)
        entry = {"times": {name: spread(s).as_dict() for name, s in samples.items()},
                 "ratios": {f"{a} / {b}": paired_ratios(samples[a], samples[b]).as_dict()
                            for a, b in PAIRS if a in samples and b in samples}}
        if device.type == "cpu":
            entry["F.conv2d kernel"] = cpu_backend(x, weight, padding)
        results[str(size)] = entry
    return results


def print_results(title, results):
    print(f"\n{title}: median time per call [interquartile range], in microseconds")
    for size, entry in results.items():
        print(f"  {size:>4} x {size:<4}", end="")
        for name, s in entry["times"].items():
            print(f"  {name} {s['median'] * 1e6:9,.1f} [{s['q1'] * 1e6:,.1f}, "
                  f"{s['q3'] * 1e6:,.1f}]", end="")
        for pair, values in entry["ratios"].items():
            ratio = Spread(**values)
            print(f"  {pair} {ratio.median:,.2f} [{ratio.q1:,.2f}, {ratio.q3:,.2f}] "
                  f"({pair.split(' / ')[0]} {ordering(ratio)})", end="")
        if "F.conv2d kernel" in entry:
            print(f"  {entry['F.conv2d kernel']}", end="")
        print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    parser.add_argument("--loop-sizes", type=int, nargs="*", default=[8, 16, 32])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for PyTorch (default: PyTorch's own choice)")
    parser.add_argument("--channels", type=int, nargs=2, default=[8, 16], metavar=("IN", "OUT"))
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="CPU runs: wall time, or the processor time of this process "
                             "(leaves out waiting for other programs; use with --threads 1 "
                             "on a shared machine)")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False     # full float32 on both sides, as the checks use
    report = {"machine": machine(), "load_average_before": os.getloadavg(),
              "config": {"channels": args.channels, "kernel": args.kernel, "batch": 1,
                         "padding": "same", "dtype": "float32", "rounds": args.rounds,
                         "warmup_calls": 3, "min_sample_s": 2e-3,
                         "cpu_clock": "process time" if args.clock == "cpu" else "wall time",
                         "loop_sizes": args.loop_sizes},
              "cpu": run(torch.device("cpu"), args.sizes, args.loop_sizes, args.rounds,
                         args.channels, args.kernel,
                         time.process_time if args.clock == "cpu" else time.perf_counter)}
    if torch.cuda.is_available():
        report["cuda"] = run(torch.device("cuda", 0), args.sizes, [], args.rounds,
                             args.channels, args.kernel)
    report["load_average_after"] = os.getloadavg()
    m = report["machine"]
    print(f"{m['cpu']}, {m['cpu_count']} CPUs, torch {m['torch']} with {m['torch_threads']} "
          f"threads, {m['date']}; load average {report['load_average_before'][0]:.1f} before, "
          f"{report['load_average_after'][0]:.1f} after")
    c_in, c_out = args.channels
    config = f"{c_in} -> {c_out} channels, {args.kernel}x{args.kernel} kernel, batch 1, float32"
    print_results(f"CPU ({report['config']['cpu_clock']}), {config}", report["cpu"])
    if "cuda" in report:
        print_results(f"GPU ({m['gpu']}), {config}", report["cuda"])
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
