"""Assignment 06_transposed: transposed convolution, its four views, TF's 'SAME' crop, FCN's init.

Two exercises have properties beyond equality with a reference, checked with `Satisfies`:
`conv_matrix` must also reproduce ``F.conv_transpose2d`` when transposed, and `bilinear_kernel`
must also upsample like ``F.interpolate(mode='bilinear')`` away from the border.
"""
import torch
import torch.nn.functional as F

from ..compare import Satisfies, assert_layout, assert_matches
from ..errors import CheckFailure
from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION
from ..samples import SampleInput, pair

ASSIGNMENT = "06_transposed"

_conv2d, _conv_transpose2d, _interpolate, _eye, _ones, _zeros, _arange = (
    F.conv2d, F.conv_transpose2d, F.interpolate, torch.eye, torch.ones, torch.zeros, torch.arange)
_int64, _float32, _float64 = torch.int64, torch.float32, torch.float64


def conv_transpose2d_reference(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                               groups=1, dilation=1):
    return _conv_transpose2d(input, weight, bias, stride=stride, padding=padding,
                             output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose2d_via_conv_reference(input, weight, stride=1, padding=0):
    return _conv_transpose2d(input, weight, stride=stride, padding=padding)


def conv_matrix_reference(k, input_shape):
    """C[i*W_out + j, (i+a)*W + (j+b)] = k[a, b], read off F.conv2d applied to basis images.

    Besides the values, C.T must reproduce F.conv_transpose2d on a fixed y.
    """
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    basis = _eye(h * w, dtype=k.dtype, device=k.device).reshape(h * w, 1, h, w)
    matrix = _conv2d(basis, k.reshape(1, 1, kh, kw)).reshape(h * w, out_h * out_w).T
    y = ((_arange(out_h * out_w, device=k.device) * 5) % 7 - 3).to(k.dtype).reshape(out_h, out_w)
    transposed = _conv_transpose2d(y.reshape(1, 1, out_h, out_w), k.reshape(1, 1, kh, kw))[0, 0]

    def verify(actual):
        assert_layout(actual, matrix.shape, k.dtype, k.device, what="C")
        assert_matches(actual, matrix, what="C (compared with the matrix of corr2d(x, k))")
        try:
            assert_matches((actual.T @ y.flatten()).reshape(h, w), transposed,
                           what="(C.T @ y.flatten()).reshape(H, W)")
        except CheckFailure as failure:
            raise CheckFailure(f"C.T does not act as F.conv_transpose2d(y, k): {failure}") from None

    return Satisfies(verify, "C @ x.flatten() == corr2d(x, k).flatten() and C.T is the "
                             "transposed convolution")


def tf_same_conv_transpose2d_reference(x, w, stride):
    sh, sw = pair(stride)
    kh, kw = w.shape[-2:]
    h, width = x.shape[-2:]
    full = _conv_transpose2d(x, w, stride=(sh, sw),
                             output_padding=(max(sh - kh, 0), max(sw - kw, 0)))
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return full[..., top:top + h * sh, left:left + width * sw]


def overlap_count_reference(kernel_size, stride, n):
    ones = _ones(1, 1, n, n, dtype=_float64)
    taps = _ones(1, 1, kernel_size, kernel_size, dtype=_float64)
    return _conv_transpose2d(ones, taps, stride=stride)[0, 0].round().to(_int64)


def _bilinear_reference(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (_arange(kernel_size, dtype=_float64) - center).abs() / factor
    kernel = _zeros(channels, channels, kernel_size, kernel_size, dtype=_float64)
    for c in range(channels):
        kernel[c, c] = taps[:, None] * taps[None, :]
    return kernel.to(_float32)


def bilinear_kernel_reference(channels, kernel_size):
    """Values as FCN's upsample_filt; when k = 2f - f % 2, it must upsample like F.interpolate."""
    expected = _bilinear_reference(channels, kernel_size)
    factor = (kernel_size + 1) // 2
    upsamples = kernel_size == 2 * factor - factor % 2
    x = ((_arange(channels * 36, dtype=_float64) * 7) % 11 - 5).reshape(1, channels, 6, 6)
    smooth = _interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    inner = (..., slice(factor, -factor), slice(factor, -factor))

    def verify(actual):
        assert_matches(actual, expected, what="the kernel")
        if not upsamples:
            return
        up = _conv_transpose2d(x, actual.double(), stride=factor, padding=factor // 2)
        try:
            assert_matches(up[inner].float(), smooth[inner].float(),  # float32 kernel
                           what=f"conv_transpose2d(x, kernel, stride={factor}, "
                                f"padding={factor // 2}) away from the border")
        except CheckFailure as failure:
            raise CheckFailure("the kernel does not upsample like F.interpolate(mode='bilinear', "
                               f"align_corners=False): {failure}") from None

    return Satisfies(verify, "FCN's bilinear kernel, which upsamples like F.interpolate")


# --- sample inputs ------------------------------------------------------------------------------

def _axis_padding(draw, low_limit):
    """A padding in [0, 2] that leaves at least one output row: 2p <= low_limit."""
    return draw.int(0, min(2, low_limit // 2))


def _transposed_case(draw):
    dtype = draw.dtype()
    groups = draw.int(1, 3) if draw.coin(0.6) else 1
    c_in, c_out_g = groups * draw.int(1, 2), draw.int(1, 3)
    kh, kw = draw.int(1, 4), draw.int(1, 4)
    h, w = draw.int(1, 5), draw.int(1, 5)
    stride, dilation = draw.int_or_pair(1, 3), draw.int_or_pair(1, 2)
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    padding = (_axis_padding(draw, (h - 1) * sh + dh * (kh - 1)),
               _axis_padding(draw, (w - 1) * sw + dw * (kw - 1)))
    output_padding = (draw.int(0, max(sh, dh) - 1), draw.int(0, max(sw, dw) - 1))
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    if draw.coin(0.7):
        kwargs["output_padding"] = output_padding
    if groups > 1:
        kwargs["groups"] = groups
    if draw.coin():
        kwargs["bias"] = draw.tensor(c_out_g * groups, dtype=dtype)
    return SampleInput((draw.tensor(draw.int(1, 2), c_in, h, w, dtype=dtype),
                        draw.tensor(c_in, c_out_g, kh, kw, dtype=dtype)), kwargs)


def conv_transpose2d_samples(draw, hidden):
    book_x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    samples = [
        SampleInput((book_x, torch.ones(1, 1, 3, 3)), {"stride": 2},
                    note="the book's [[1, 2], [3, 4]], 3x3 ones, stride 2: a 5x5 output"),
        SampleInput((draw.tensor(2, 3, 4, 5), draw.tensor(3, 2, 3, 2), draw.tensor(2)),
                    note="defaults: weight (C_in, C_out, kh, kw) = (3, 2, 3, 2), bias"),
        SampleInput((draw.tensor(1, 2, 3, 4), draw.tensor(2, 3, 3, 2)),
                    {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2)},
                    note="pairs; output_padding adds rows at the bottom/right only"),
        SampleInput((draw.tensor(1, 4, 3, 3), draw.tensor(4, 3, 3, 3), draw.tensor(6)),
                    {"stride": 2, "padding": 1, "groups": 2},
                    note="2 groups: weight (C_in, C_out/groups, kh, kw), 4 -> 6 channels"),
        SampleInput((draw.tensor(1, 2, 4, 3, dtype=torch.float64),
                     draw.tensor(2, 2, 3, 2, dtype=torch.float64)),
                    {"dilation": (2, 3), "padding": (2, 1), "output_padding": (1, 2)},
                    note="dilation, stride 1: output_padding < dilation is allowed"),
        SampleInput((draw.tensor(2, 1, 2, 3), draw.tensor(1, 1, 1, 1)),
                    {"stride": 3, "output_padding": 2}, note="1x1 kernel, stride 3"),
    ]
    samples += [_transposed_case(draw) for _ in range(20 if hidden else 5)]
    return samples


def _via_conv_case(draw):
    dtype = draw.dtype()
    c_in, c_out = draw.int(1, 3), draw.int(1, 3)
    kh, kw = draw.int(1, 4), draw.int(1, 4)
    h, w = draw.int(1, 5), draw.int(1, 5)
    stride = draw.int_or_pair(1, 3)
    sh, sw = pair(stride)
    ph = draw.int(0, min(kh - 1, ((h - 1) * sh + kh - 1) // 2))
    pw = draw.int(0, min(kw - 1, ((w - 1) * sw + kw - 1) // 2))
    kwargs = {"stride": stride}
    if draw.coin(0.7):
        kwargs["padding"] = (ph, pw) if draw.coin() else min(ph, pw)
    return SampleInput((draw.tensor(draw.int(1, 2), c_in, h, w, dtype=dtype),
                        draw.tensor(c_in, c_out, kh, kw, dtype=dtype)), kwargs)


def conv_transpose2d_via_conv_samples(draw, hidden):
    book_x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    samples = [
        SampleInput((book_x, torch.ones(1, 1, 3, 3)), {"stride": 2},
                    note="the book's example: 1 zero between inputs, 2 zeros around"),
        SampleInput((draw.integer_tensor(1, 1, 3, 3), draw.integer_tensor(1, 1, 2, 3)),
                    note="stride 1: only the k-1 border, asymmetric kernel (flip matters)"),
        SampleInput((draw.tensor(2, 2, 3, 4), draw.tensor(2, 3, 3, 3)),
                    {"stride": (2, 3), "padding": 1}, note="C_in=2 != C_out=3, pairs"),
        SampleInput((draw.tensor(1, 3, 4, 2, dtype=torch.float64),
                     draw.tensor(3, 1, 4, 3, dtype=torch.float64)),
                    {"stride": 2, "padding": (3, 2)}, note="padding = k-1: nothing added around"),
    ]
    samples += [_via_conv_case(draw) for _ in range(20 if hidden else 5)]
    return samples


def conv_matrix_samples(draw, hidden):
    samples = [
        SampleInput((draw.integer_tensor(2, 2), (3, 3)), note="the book's 2x2 kernel on a 3x3 input"),
        SampleInput((draw.tensor(2, 3), (4, 5)), note="non-square kernel and input"),
        SampleInput((draw.tensor(3, 3, dtype=torch.float64), (3, 3)),
                    note="kernel as large as the input: a single row"),
        SampleInput((draw.tensor(1, 1), (2, 3)), note="1x1 kernel: a scaled identity"),
        SampleInput((draw.tensor(1, 3), (2, 6)), note="a row kernel on a wide input"),
    ]
    for _ in range(15 if hidden else 3):
        kh, kw = draw.int(1, 3), draw.int(1, 3)
        samples.append(SampleInput((draw.tensor(kh, kw, dtype=draw.dtype()),
                                    (draw.int(kh, kh + 3), draw.int(kw, kw + 3)))))
    return samples


def tf_same_samples(draw, hidden):
    book_x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    samples = [
        SampleInput((book_x, torch.ones(1, 1, 3, 3), 2),
                    note="the book's example: k - s = 1, TF keeps the top-left 4x4 of the 5x5"),
        SampleInput((draw.tensor(1, 2, 3, 3), draw.tensor(2, 3, 4, 4), 2),
                    note="k - s = 2 (even): one row cropped on each side"),
        SampleInput((draw.tensor(2, 1, 2, 3), draw.tensor(1, 2, 5, 4), 2),
                    note="k - s = 3 (odd) and 2: one more row cropped at the bottom"),
        SampleInput((draw.tensor(1, 2, 3, 2, dtype=torch.float64),
                     draw.tensor(2, 1, 2, 2, dtype=torch.float64), 3),
                    note="k < s: zeros added at the bottom/right"),
        SampleInput((draw.tensor(1, 1, 3, 3), draw.tensor(1, 2, 2, 2), 2), note="k == s: no crop"),
        SampleInput((draw.tensor(1, 2, 2, 3), draw.tensor(2, 2, 4, 3), (3, 2)),
                    note="non-square stride (3, 2): k - s = 1 and 1"),
    ]
    for _ in range(20 if hidden else 4):
        dtype = draw.dtype()
        c_in, c_out = draw.int(1, 3), draw.int(1, 3)
        samples.append(SampleInput((draw.tensor(draw.int(1, 2), c_in, draw.int(1, 4), draw.int(1, 4),
                                                dtype=dtype),
                                    draw.tensor(c_in, c_out, draw.int(1, 5), draw.int(1, 5),
                                                dtype=dtype),
                                    draw.int_or_pair(1, 3))))
    return samples


def overlap_count_samples(draw, hidden):
    samples = [
        SampleInput((3, 2, 4), note="k=3, s=2: uneven overlap, the checkerboard"),
        SampleInput((4, 2, 4), note="k=4, s=2: k divisible by s, even overlap inside"),
        SampleInput((3, 1, 3), note="stride 1"),
        SampleInput((2, 3, 3), note="k < s: gaps with no tap at all"),
        SampleInput((5, 5, 2), note="k == s: every position exactly once"),
        SampleInput((1, 1, 1), note="one input, one tap"),
    ]
    for _ in range(15 if hidden else 3):
        samples.append(SampleInput((draw.int(1, 6), draw.int(1, 4), draw.int(1, 5))))
    return samples


def bilinear_kernel_samples(draw, hidden):
    samples = [
        SampleInput((1, 4), note="factor 2: weights 0.0625, 0.1875, 0.5625"),
        SampleInput((3, 4), note="3 channels: the filter on the diagonal only"),
        SampleInput((2, 5), note="odd kernel, factor 3"),
        SampleInput((1, 3), note="odd kernel, factor 2 (not FCN's 2f - f % 2 form)"),
        SampleInput((2, 8), note="factor 4"),
        SampleInput((1, 1), note="1x1: the identity"),
    ]
    for _ in range(10 if hidden else 2):
        samples.append(SampleInput((draw.int(1, 4), draw.int(1, 10))))
    return samples


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "conv_transpose2d",
                 ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
                  "dilation"),
                 conv_transpose2d_reference, "F.conv_transpose2d", conv_transpose2d_samples,
                 forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "conv_transpose2d_via_conv", ("input", "weight", "stride", "padding"),
                 conv_transpose2d_via_conv_reference, "F.conv_transpose2d",
                 conv_transpose2d_via_conv_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "conv_matrix", ("k", "input_shape"), conv_matrix_reference,
                 "the matrix of F.conv2d, whose transpose is F.conv_transpose2d",
                 conv_matrix_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "tf_same_conv_transpose2d", ("x", "w", "stride"),
                 tf_same_conv_transpose2d_reference,
                 "F.conv_transpose2d, cropped pad // 2 at the top/left as TF's 'SAME'",
                 tf_same_samples),
    ExerciseInfo(ASSIGNMENT, "overlap_count", ("kernel_size", "stride", "n"),
                 overlap_count_reference, "F.conv_transpose2d of ones, as int64",
                 overlap_count_samples, tensor_free=True, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "bilinear_kernel", ("channels", "kernel_size"),
                 bilinear_kernel_reference,
                 "FCN's upsample_filt on the channel diagonal (and F.interpolate bilinear)",
                 bilinear_kernel_samples, tensor_free=True),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("overlap_count", 2, "ch06-checkerboard"),
    ("bilinear_kernel", 2, "ch06-bilinear"),
    ("tf_same_conv_transpose2d", 3, "ch06-tf-same"),
    ("conv_matrix", 3, "ch06-matrix"),
    ("conv_transpose2d_via_conv", 4, "ch06-zero-insertion"),
    ("conv_transpose2d", 5, "ch06-stamping"),
])
