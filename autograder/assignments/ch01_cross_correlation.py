"""Assignment 01_cross_correlation: single-channel correlation, convolution, padding, stride.

References are ``torch.nn.functional`` calls on tensors unsqueezed to (1, 1, H, W). The sample
inputs cover odd and even, square and non-square kernels, kernels as large as the input, 1x1
kernels, int and pair arguments, sizes where (i + 2p - k) is not divisible by s, and both float
dtypes.

`corr2d` asks for more than the book's two loops: any number of leading dimensions in front of
the image axes, and a vectorised implementation (its operation count must not grow with the
input, see `corr2d_op_count_inputs`).
"""
import torch
import torch.nn.functional as F

from ..compare import Raises
from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION, PADDING
from ..samples import SampleInput, pair

ASSIGNMENT = "01_cross_correlation"

_conv1d, _conv2d, _pad, _flip = F.conv1d, F.conv2d, F.pad, torch.flip


def _as_batch(t):
    return t[None, None]


def corr2d_reference(x, k):
    """Each (H, W) image of x (..., H, W), correlated with k on its own."""
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    out = _conv2d(x.reshape(-1, 1, h, w), _as_batch(k))
    return out.reshape(*lead, *out.shape[-2:])


def convolve2d_reference(x, k):
    return _conv2d(_as_batch(x), _as_batch(_flip(k, (0, 1))))[0, 0]


def pad2d_reference(x, padding):
    ph, pw = pair(padding)
    return _pad(x, (pw, pw, ph, ph))


def corr2d_strided_reference(x, k, stride=1, padding=0):
    return _conv2d(_as_batch(x), _as_batch(k), stride=stride, padding=padding)[0, 0]


def conv_output_size_reference(i, k, s=1, p=0, d=1):
    """The length PyTorch produces, measured on the meta device (no memory, no arithmetic)."""
    if d * (k - 1) + 1 > i + 2 * p:
        return Raises(ValueError, f"a kernel of size {k} with dilation {d} does not fit in an "
                                  f"input of size {i} with padding {p} per side")
    x = torch.empty(1, 1, i, device="meta")
    w = torch.empty(1, 1, k, device="meta")
    return int(_conv1d(x, w, stride=s, padding=p, dilation=d).shape[-1])


def _example():
    """The book's worked example: a 3x3 input and a 2x2 kernel of small integers."""
    x = torch.arange(9.0).reshape(3, 3)
    k = torch.arange(4.0).reshape(2, 2)
    return x, k


def _image_and_kernel(draw, min_size=1, max_size=9, pad=0):
    dtype = draw.dtype()
    h, w = draw.int(min_size, max_size), draw.int(min_size, max_size)
    kh, kw = draw.int(1, min(h + 2 * pad, 5)), draw.int(1, min(w + 2 * pad, 5))
    return draw.tensor(h, w, dtype=dtype), draw.tensor(kh, kw, dtype=dtype)


def _count(hidden):
    return 30 if hidden else 8


def _batched_case(draw):
    """Images of up to 9x9 behind 0 to 3 leading dimensions of size 1 to 3, a kernel that fits."""
    dtype = draw.dtype()
    lead = [draw.int(1, 3) for _ in range(draw.int(0, 3))]
    h, w = draw.int(1, 9), draw.int(1, 9)
    kh, kw = draw.int(1, min(h, 5)), draw.int(1, min(w, 5))
    return SampleInput((draw.tensor(*lead, h, w, dtype=dtype), draw.tensor(kh, kw, dtype=dtype)))


def corr2d_samples(draw, hidden):
    x, k = _example()
    f64 = torch.float64
    samples = [
        SampleInput((x, k), note="the book's worked example: one image, no leading dimensions"),
        SampleInput((draw.tensor(3, 5, 7), draw.tensor(3, 2)),
                    note="a batch of 3 images, non-square input and kernel"),
        SampleInput((draw.tensor(2, 3, 6, 5), draw.tensor(2, 2)),
                    note="two leading dimensions, (N, C, H, W): 6 images"),
        SampleInput((draw.tensor(2, 4, 6, dtype=f64), draw.tensor(4, 6, dtype=f64)),
                    note="kernel as large as the images: one output per image"),
        SampleInput((draw.tensor(1, 4, 3, 5), draw.tensor(1, 1)),
                    note="1x1 kernel, leading dimensions of size 1 and 4"),
        SampleInput((draw.tensor(6, 6), draw.tensor(2, 4)), note="even kernel sizes"),
        SampleInput((draw.tensor(2, 1, 2, 5, 4), draw.tensor(3, 3)),
                    note="three leading dimensions"),
    ]
    samples += [_batched_case(draw) for _ in range(_count(hidden))]
    return samples


def corr2d_op_count_inputs(draw):
    """The same kernel on 2 x 2 images of 7x8, then on 5 x 5 images of 19x20.

    Each leading dimension grows by 3 and each image axis by 12, so a loop over either leading
    dimension, over the images or over output positions runs at least 3 more times on the large
    input, more than `OP_COUNT_SLACK` of the check; a loop over the kernel taps runs as often.
    No dimension has size 1 (PyTorch skips some copies for those).
    """
    dtype = draw.dtype()
    k = draw.tensor(draw.int(1, 3), draw.int(1, 3), dtype=dtype)
    return (SampleInput((draw.tensor(2, 2, 7, 8, dtype=dtype), k.clone()),
                        note="the smaller input"),
            SampleInput((draw.tensor(5, 5, 19, 20, dtype=dtype), k.clone()),
                        note="more images, about 7 times the pixels each"))


def convolve2d_samples(draw, hidden):
    x, _ = _example()
    samples = [
        SampleInput((x, torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
                    note="asymmetric kernel: flipping matters"),
        SampleInput((draw.tensor(6, 5), draw.tensor(3, 2)), note="non-square kernel"),
        SampleInput((draw.tensor(4, 4, dtype=torch.float64), draw.tensor(1, 3, dtype=torch.float64)),
                    note="a row kernel"),
    ]
    samples += [SampleInput(_image_and_kernel(draw)) for _ in range(_count(hidden))]
    return samples


def pad2d_samples(draw, hidden):
    x, _ = _example()
    samples = [
        SampleInput((x, 1), note="the book's example, padding 1"),
        SampleInput((draw.tensor(2, 5), (1, 2)), note="a pair: 1 row, 2 columns on each side"),
        SampleInput((draw.tensor(3, 3, dtype=torch.float64), 0), note="no padding"),
        SampleInput((draw.tensor(1, 4), (3, 0)), note="rows only"),
    ]
    for _ in range(_count(hidden)):
        samples.append(SampleInput((draw.tensor(draw.int(1, 7), draw.int(1, 7), dtype=draw.dtype()),
                                    draw.int_or_pair(0, 3))))
    return samples


def _strided_case(draw):
    padding = draw.int_or_pair(0, 2)
    ph, pw = pair(padding)
    dtype = draw.dtype()
    h, w = draw.int(1, 10), draw.int(1, 10)
    kh, kw = draw.int(1, min(h + 2 * ph, 5)), draw.int(1, min(w + 2 * pw, 5))
    kwargs = {}
    if draw.coin(0.8):
        kwargs["stride"] = draw.int_or_pair(1, 3)
    if draw.coin(0.8):
        kwargs["padding"] = padding
    else:
        kh, kw = min(kh, h), min(kw, w)
    return SampleInput((draw.tensor(h, w, dtype=dtype), draw.tensor(kh, kw, dtype=dtype)), kwargs)


def corr2d_strided_samples(draw, hidden):
    x, k = _example()
    samples = [
        SampleInput((x, k), note="defaults: stride 1, no padding"),
        SampleInput((x, k), {"stride": 2, "padding": 1}, note="stride 2, padding 1"),
        SampleInput((draw.tensor(8, 8), draw.tensor(3, 3)), {"stride": 3},
                    note="(i - k) not divisible by the stride: floor drops the last window"),
        SampleInput((draw.tensor(7, 9), draw.tensor(2, 3)), {"stride": (2, 3), "padding": (1, 0)},
                    note="stride and padding given as pairs"),
        SampleInput((draw.tensor(5, 5, dtype=torch.float64), draw.tensor(3, 3, dtype=torch.float64)),
                    {"stride": 2, "padding": 2}, note="padding wider than needed"),
    ]
    samples += [_strided_case(draw) for _ in range(_count(hidden))]
    return samples


def conv_output_size_samples(draw, hidden):
    samples = [
        SampleInput((7, 3), note="defaults"),
        SampleInput((7, 3, 2), note="stride 2, divisible"),
        SampleInput((8, 3, 2), note="stride 2, not divisible: floor"),
        SampleInput((5, 3, 1, 1), note="'same' padding for an odd kernel"),
        SampleInput((10, 3, 1, 0, 2), note="dilation 2"),
        SampleInput((2, 5), note="kernel larger than the input: must raise ValueError"),
        SampleInput((2, 3, 2), note="kernel one wider than the input, stride 2: no window fits, "
                                    "floor(-1 / 2) + 1 = 0, so ValueError (rounding toward zero "
                                    "instead of down gives 1)"),
        SampleInput((4, 3, 1, 0, 3), note="dilated kernel (7 wide) does not fit: ValueError"),
    ]
    for _ in range(40 if hidden else 10):
        i, k, s, p, d = draw.int(1, 40), draw.int(1, 7), draw.int(1, 4), draw.int(0, 3), draw.int(1, 3)
        samples.append(SampleInput((i, k, s, p, d)))
    for _ in range(10 if hidden else 3):
        samples.append(SampleInput((draw.int(1, 40), draw.int(1, 7)), {"s": draw.int(1, 4),
                                                                       "p": draw.int(0, 3)}))
    return samples


def corr2d_timing_inputs(draw):
    """16,384 images of 4x4, then one image of 96x96, with a 3x3 kernel (float32).

    A loop over the images of the first runs 16,384 times, a loop over the output positions of
    the second 8,836 times: either costs 50 to 1000 times the course's solution in the grader's
    CPU-time check, while a vectorised function (any way of forming the windows, an FFT, a
    banded matrix per kernel row) stays within a few times it.
    """
    k = draw.tensor(3, 3)
    return (SampleInput((draw.tensor(128, 128, 4, 4), k.clone()), note="16,384 small images"),
            SampleInput((draw.tensor(96, 96), k.clone()), note="one larger image"))


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "corr2d", ("x", "k"), corr2d_reference,
                 "F.conv2d on each (H, W) image as a (1, 1, H, W) tensor", corr2d_samples,
                 forbidden=CONVOLUTION, op_count_inputs=corr2d_op_count_inputs,
                 timing_inputs=corr2d_timing_inputs),
    ExerciseInfo(ASSIGNMENT, "convolve2d", ("x", "k"), convolve2d_reference,
                 "F.conv2d with the kernel flipped", convolve2d_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "pad2d", ("x", "padding"), pad2d_reference, "F.pad",
                 pad2d_samples, forbidden=PADDING, new_tensor=True),
    ExerciseInfo(ASSIGNMENT, "corr2d_strided", ("x", "k", "stride", "padding"),
                 corr2d_strided_reference, "F.conv2d with stride and padding",
                 corr2d_strided_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "conv_output_size", ("i", "k", "s", "p", "d"),
                 conv_output_size_reference, "the output length of F.conv1d",
                 conv_output_size_samples, tensor_free=True),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("conv_output_size", 2, "ch01-output-size"),
    ("pad2d", 2, "ch01-padding"),
    ("corr2d", 3, "ch01-cross-correlation"),
    ("convolve2d", 2, "ch01-true-convolution", ("corr2d",)),
    ("corr2d_strided", 4, "ch01-stride", ("corr2d", "pad2d")),
])
