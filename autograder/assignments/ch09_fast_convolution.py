"""Assignment 09_fast_convolution: im2col, col2im and convolution as one matrix product.

`conv2d_im2col` must also be vectorised: besides the value checks, the number of ATen operations
it dispatches is counted on a small and on a larger input of the same configuration (more
images, more pixels), and it must not grow. A loop over output positions or over the batch
fails that check; a loop over the kh*kw kernel taps does not, since its length is fixed.
"""
import torch
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION, UNFOLD
from ..samples import SampleInput, pair

ASSIGNMENT = "09_fast_convolution"

_unfold, _fold, _conv2d, _conv_transpose2d = F.unfold, F.fold, F.conv2d, F.conv_transpose2d


def im2col_reference(input, kernel_size, stride=1, padding=0, dilation=1):
    return _unfold(input, kernel_size, dilation=dilation, padding=padding, stride=stride)


def conv2d_im2col_reference(input, weight, bias=None, stride=1, padding=0, dilation=1):
    return _conv2d(input, weight, bias, stride=stride, padding=padding, dilation=dilation)


def col2im_reference(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    return _fold(input, output_size, kernel_size, dilation=dilation, padding=padding,
                 stride=stride)


def conv_transpose2d_col2im_reference(input, weight, bias=None, stride=1, padding=0,
                                      output_padding=0, dilation=1):
    return _conv_transpose2d(input, weight, bias, stride=stride, padding=padding,
                             output_padding=output_padding, dilation=dilation)


def _blocks(size, kernel, stride, padding, dilation):
    """Number of window positions along one axis (the L factor of F.unfold)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _window_config(draw, max_size=9):
    """A random (H, W, kernel_size, kwargs) with at least one window position along each axis."""
    kernel = draw.int_or_pair(1, 3)
    kwargs = {}
    if draw.coin(0.7):
        kwargs["stride"] = draw.int_or_pair(1, 3)
    if draw.coin(0.6):
        kwargs["padding"] = draw.int_or_pair(0, 2)
    if draw.coin(0.6):
        kwargs["dilation"] = draw.int_or_pair(1, 3)
    sizes = []
    for k, p, d in zip(pair(kernel), pair(kwargs.get("padding", 0)),
                       pair(kwargs.get("dilation", 1))):
        sizes.append(draw.int(max(1, d * (k - 1) + 1 - 2 * p), max_size))
    return sizes[0], sizes[1], kernel, kwargs


def im2col_samples(draw, hidden):
    samples = [
        SampleInput((draw.integer_tensor(1, 2, 3, 4), 2),
                    note="the book's 2-channel 3x4 input, 2x2 kernel: a 8x6 column matrix"),
        SampleInput((draw.tensor(2, 3, 5, 5), 3), note="defaults, batch 2"),
        SampleInput((draw.tensor(1, 2, 7, 6), (2, 3)),
                    {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1)},
                    note="pairs for everything"),
        SampleInput((draw.tensor(1, 1, 7, 8), 3), {"stride": 3},
                    note="stride 3 does not divide: the last rows and columns are never read"),
        SampleInput((draw.tensor(2, 3, 4, 5, dtype=draw.dtype()), 1),
                    note="1x1 kernel: the column matrix is the flattened input"),
        SampleInput((draw.tensor(1, 2, 3, 2, dtype=draw.dtype()), (5, 4)), {"padding": 1},
                    note="kernel as large as the padded input: one column"),
        SampleInput((draw.tensor(1, 2, 9, 9, dtype=draw.dtype()), 3), {"dilation": 3},
                    note="dilation 3"),
    ]
    for _ in range(20 if hidden else 5):
        h, w, kernel, kwargs = _window_config(draw)
        x = draw.tensor(draw.int(1, 2), draw.int(1, 3), h, w, dtype=draw.dtype())
        samples.append(SampleInput((x, kernel), kwargs))
    return samples


def _conv_case(draw, h, w, kernel, kwargs, n=None):
    dtype = draw.dtype()
    kh, kw = pair(kernel)
    c_in, c_out = draw.int(1, 3), draw.int(1, 4)
    args = (draw.tensor(n or draw.int(1, 2), c_in, h, w, dtype=dtype),
            draw.tensor(c_out, c_in, kh, kw, dtype=dtype))
    if draw.coin():
        kwargs = dict(kwargs, bias=draw.tensor(c_out, dtype=dtype))
    return SampleInput(args, kwargs)


def conv2d_im2col_samples(draw, hidden):
    d1, d2 = draw.dtype(), draw.dtype()
    samples = [
        SampleInput((draw.integer_tensor(1, 2, 3, 4), draw.integer_tensor(3, 2, 2, 2)),
                    note="the book's example: 2 -> 3 channels, 2x2 kernel"),
        SampleInput((draw.tensor(2, 3, 6, 5), draw.tensor(4, 3, 3, 3), draw.tensor(4)),
                    note="defaults, with bias"),
        SampleInput((draw.tensor(1, 2, 9, 8), draw.tensor(3, 2, 2, 3), draw.tensor(3)),
                    {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1)},
                    note="pairs for everything"),
        SampleInput((draw.tensor(2, 3, 8, 7, dtype=d1), draw.tensor(2, 3, 3, 3, dtype=d1)),
                    {"stride": 3}, note="stride 3 does not divide 8 - 3 or 7 - 3"),
        SampleInput((draw.tensor(1, 4, 3, 5, dtype=d2), draw.tensor(5, 4, 1, 1, dtype=d2)),
                    note="1x1 kernel: a plain matrix product over channels"),
    ]
    samples += [_conv_case(draw, *_window_config(draw)) for _ in range(20 if hidden else 5)]
    return samples


def conv2d_im2col_op_count_inputs(draw):
    """Same channels, kernel, stride, padding and dilation: 2 images of 7x8, then 6 of 19x20.

    A loop over the batch then runs 4 more times on the large input, a loop over output
    positions hundreds more: either exceeds `OP_COUNT_SLACK` of the check.

    The small input has at least 2 output positions along each axis, and both have at least 2
    images: PyTorch skips some copies for dimensions of size 1, so a count on one image could be
    lower for reasons that have nothing to do with loops. The sizes agree modulo 6, so that a
    slice that happens to cover a whole axis (and is then not dispatched) does so in both.
    """
    kernel = (draw.int(1, 3), draw.int(1, 3))
    kwargs = {"stride": draw.int_or_pair(1, 2), "padding": draw.int_or_pair(0, 1),
              "dilation": draw.int_or_pair(1, 2)}
    dtype = draw.dtype()
    c_in, c_out = draw.int(1, 3), draw.int(1, 4)
    weight = draw.tensor(c_out, c_in, *kernel, dtype=dtype)
    bias = draw.tensor(c_out, dtype=dtype) if draw.coin() else None

    def sample(n, h, w, note):
        return SampleInput((draw.tensor(n, c_in, h, w, dtype=dtype), weight.clone(), bias),
                           dict(kwargs), note=note)

    return (sample(2, 7, 8, "the smaller input"),
            sample(6, 19, 20, "4 more images, about 7 times the pixels each"))


def _fold_case(draw, h, w, kernel, kwargs, c=None, n=None, dtype=None, output_size=None):
    kh, kw = pair(kernel)
    blocks = [_blocks(size, k, pair(kwargs.get("stride", 1))[i],
                      pair(kwargs.get("padding", 0))[i], pair(kwargs.get("dilation", 1))[i])
              for i, (size, k) in enumerate(((h, kh), (w, kw)))]
    c = c or draw.int(1, 3)
    columns = draw.tensor(n or draw.int(1, 2), c * kh * kw, blocks[0] * blocks[1],
                          dtype=dtype or draw.dtype())
    if output_size is None:
        output_size = h if h == w and draw.coin() else (h, w)
    return SampleInput((columns, output_size, kernel), kwargs)


def col2im_samples(draw, hidden):
    samples = [
        _fold_case(draw, 3, 4, 2, {}, c=2, n=1, dtype=torch.float32, output_size=(3, 4)),
        _fold_case(draw, 5, 5, 3, {}, c=1, n=2, dtype=torch.float32, output_size=5),
        _fold_case(draw, 9, 8, (2, 3), {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1)},
                   c=2, n=1, output_size=(9, 8)),
        _fold_case(draw, 8, 7, 3, {"stride": 2}, c=1, n=1, output_size=(8, 7)),
        _fold_case(draw, 4, 5, 1, {}, c=3, n=1, dtype=draw.dtype(), output_size=(4, 5)),
        _fold_case(draw, 6, 6, 3, {"stride": 4, "padding": 1}, c=2, n=2, dtype=draw.dtype(),
                   output_size=6),
    ]
    notes = ["the book's 3x4 image, 2x2 kernel: interior pixels are covered by 4 windows",
             "defaults, int output_size: the centre pixel collects 9 contributions",
             "pairs for everything", "stride 2 does not divide 8 - 3: the last row gets nothing",
             "1x1 kernel: no overlap", "stride 4 > kernel: gaps between the windows, padding 1"]
    for sample, note in zip(samples, notes):
        sample.note = note
    for _ in range(20 if hidden else 5):
        samples.append(_fold_case(draw, *_window_config(draw)))
    return samples


def _transposed_case(draw):
    dtype = draw.dtype()
    kh, kw = draw.int(1, 4), draw.int(1, 4)
    sh, sw = draw.int(1, 3), draw.int(1, 3)
    dh, dw = draw.int(1, 2), draw.int(1, 2)
    kwargs = {}
    if draw.coin(0.7):
        kwargs["stride"] = sh if sh == sw and draw.coin() else (sh, sw)
    else:
        sh = sw = 1
    if draw.coin(0.6):
        kwargs["dilation"] = (dh, dw)
    else:
        dh = dw = 1
    h, w = draw.int(1, 6), draw.int(1, 6)
    full = ((h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1)
    if draw.coin(0.6):
        kwargs["padding"] = (draw.int(0, (full[0] - 1) // 2), draw.int(0, (full[1] - 1) // 2))
    if draw.coin(0.5) and max(sh, sw) > 1:
        kwargs["output_padding"] = (draw.int(0, sh - 1), draw.int(0, sw - 1))
    c_in, c_out = draw.int(1, 3), draw.int(1, 3)
    args = (draw.tensor(draw.int(1, 2), c_in, h, w, dtype=dtype),
            draw.tensor(c_in, c_out, kh, kw, dtype=dtype))
    if draw.coin():
        args += (draw.tensor(c_out, dtype=dtype),)
    return SampleInput(args, kwargs)


def conv_transpose2d_col2im_samples(draw, hidden):
    f64 = torch.float64
    samples = [
        SampleInput((draw.integer_tensor(1, 1, 2, 2), draw.integer_tensor(1, 1, 3, 3)),
                    {"stride": 2}, note="the book's 2x2 input, 3x3 kernel, stride 2: a 5x5 output"),
        SampleInput((draw.tensor(2, 3, 4, 3), draw.tensor(3, 2, 3, 2), draw.tensor(2)),
                    note="defaults, C_in = 3 -> C_out = 2, with bias"),
        SampleInput((draw.tensor(1, 2, 3, 4), draw.tensor(2, 3, 3, 3)),
                    {"stride": 2, "padding": 1, "output_padding": 1},
                    note="output_padding 1 with padding 1: the extra row is real data, not zeros"),
        SampleInput((draw.tensor(1, 2, 4, 3), draw.tensor(2, 2, 2, 3), draw.tensor(2)),
                    {"stride": (3, 2), "padding": (1, 2), "output_padding": (2, 1),
                     "dilation": (2, 1)}, note="pairs for everything"),
        SampleInput((draw.tensor(2, 3, 3, 3, dtype=f64), draw.tensor(3, 3, 1, 1, dtype=f64)),
                    note="1x1 kernel, C_in = C_out: a matrix product over channels"),
        SampleInput((draw.tensor(1, 1, 3, 5, dtype=f64), draw.tensor(1, 4, 4, 4, dtype=f64)),
                    {"stride": 2, "padding": (2, 0)},
                    note="kernel 4, stride 2: every output pixel gets two taps per axis"),
    ]
    samples += [_transposed_case(draw) for _ in range(20 if hidden else 5)]
    return samples


def conv2d_im2col_timing_inputs(draw):
    """1,024 images of 2x5x5, then one image of 2x96x96; 4 output channels, a 3x3 kernel,
    padding 1 (float32). A loop over the images of the first, or over the output positions of
    the second, costs 50 to 1000 times the course's solution in the grader's CPU-time check."""
    weight, bias = draw.tensor(4, 2, 3, 3), draw.tensor(4)
    return (SampleInput((draw.tensor(1024, 2, 5, 5), weight.clone(), bias.clone()),
                        {"padding": 1}, note="1,024 small images"),
            SampleInput((draw.tensor(1, 2, 96, 96), weight.clone(), bias.clone()),
                        {"padding": 1}, note="one larger image"))


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "im2col",
                 ("input", "kernel_size", "stride", "padding", "dilation"),
                 im2col_reference, "F.unfold", im2col_samples, forbidden=UNFOLD),
    ExerciseInfo(ASSIGNMENT, "conv2d_im2col",
                 ("input", "weight", "bias", "stride", "padding", "dilation"),
                 conv2d_im2col_reference, "F.conv2d", conv2d_im2col_samples,
                 forbidden=f"{CONVOLUTION}|{UNFOLD}",
                 op_count_inputs=conv2d_im2col_op_count_inputs,
                 timing_inputs=conv2d_im2col_timing_inputs),
    ExerciseInfo(ASSIGNMENT, "col2im",
                 ("input", "output_size", "kernel_size", "stride", "padding", "dilation"),
                 col2im_reference, "F.fold", col2im_samples, forbidden=UNFOLD),
    ExerciseInfo(ASSIGNMENT, "conv_transpose2d_col2im",
                 ("input", "weight", "bias", "stride", "padding", "output_padding", "dilation"),
                 conv_transpose2d_col2im_reference, "F.conv_transpose2d",
                 conv_transpose2d_col2im_samples, forbidden=f"{CONVOLUTION}|{UNFOLD}"),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("im2col", 3, "ch09-im2col"),
    ("conv2d_im2col", 3, "ch09-gemm", ("im2col",)),
    ("col2im", 4, "ch09-col2im"),
    ("conv_transpose2d_col2im", 3, "ch09-col2im", ("col2im",)),
])
