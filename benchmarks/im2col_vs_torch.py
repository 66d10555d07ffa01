"""How fast is a convolution written as im2col + one matrix product, next to F.conv2d?

    .venv/bin/python benchmarks/im2col_vs_torch.py [--sizes 16 32 64 128 256] [--repeats 20]
                                                   [--threads N] [--channels 16 32] [--kernel 3]

Times, for each square input size, the median of ``--repeats`` calls of an im2col convolution
in plain PyTorch (strided views, one copy, one ``matmul``; the method of chapter 9) and of
``F.conv2d`` with the same arguments ("same" padding, stride 1, batch 1, float32), on the CPU and
on the first CUDA GPU when there is one. Prints the medians and their ratio, im2col / F.conv2d.
The two results are compared before anything is timed. Run it on an idle machine.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def conv2d_im2col(x, weight, padding):
    """F.conv2d (stride 1, no dilation, groups 1): windows as views, one copy, one matmul."""
    n, c_in = x.shape[:2]
    c_out, _, kh, kw = weight.shape
    windows = F.pad(x, (padding,) * 4).unfold(2, kh, 1).unfold(3, kw, 1)  # (N, C, H', W', kh, kw)
    h_out, w_out = windows.shape[2:4]
    columns = windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c_in * kh * kw, h_out * w_out)
    return (weight.reshape(c_out, -1) @ columns).reshape(n, c_out, h_out, w_out)


def median_seconds(fn, repeats, device):
    """Median wall time of ``repeats`` calls after two warm-up calls; waits for the GPU."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(device, sizes, repeats, channels, kernel):
    c_in, c_out = channels
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(c_out, c_in, kernel, kernel, generator=generator).to(device)
    padding = kernel // 2
    print(f"\n{device.type.upper()}"
          f"{f' ({torch.cuda.get_device_name(device)})' if device.type == 'cuda' else ''}, "
          f"{c_in} -> {c_out} channels, {kernel}x{kernel} kernel, batch 1, float32, "
          f"median of {repeats} calls:")
    print(f"  {'input':>11}  {'im2col':>12}  {'F.conv2d':>12}  {'im2col / F.conv2d':>17}")
    for size in sizes:
        x = torch.randn(1, c_in, size, size, generator=generator).to(device)
        torch.testing.assert_close(conv2d_im2col(x, weight, padding),
                                   F.conv2d(x, weight, padding=padding), rtol=1e-4, atol=1e-4)
        ours = median_seconds(lambda: conv2d_im2col(x, weight, padding), repeats, device)
        torch_s = median_seconds(lambda: F.conv2d(x, weight, padding=padding), repeats, device)
        print(f"  {f'{size} x {size}':>11}  {ours * 1e6:9,.0f} us  {torch_s * 1e6:9,.0f} us"
              f"  {ours / torch_s:17.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for PyTorch (default: PyTorch's own choice)")
    parser.add_argument("--channels", type=int, nargs=2, default=[16, 32], metavar=("IN", "OUT"))
    parser.add_argument("--kernel", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False     # full float32 on both sides, as the checks use
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda", 0))
    for device in devices:
        run(device, args.sizes, args.repeats, args.channels, args.kernel)


if __name__ == "__main__":
    main()
