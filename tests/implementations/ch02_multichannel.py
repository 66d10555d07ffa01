"""Mutants and alternates for assignment 02_multichannel."""
import torch

from . import alternate, device_mutant, mutant

A = "02_multichannel"


# conv2d ---------------------------------------------------------------------------------------
@mutant(f"{A}.conv2d", "weight axes swapped (C_in, C_out)")
def conv2d_swapped(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph))
    windows = x.unfold(2, weight.shape[2], sh).unfold(3, weight.shape[3], sw)
    out = torch.einsum("nchwab,coab->nohw", windows, weight)   # reads weight as (C_in, C_out)
    return out if bias is None else out + bias[None, :, None, None]


@mutant(f"{A}.conv2d", "bias ignored")
def conv2d_no_bias(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph))
    windows = x.unfold(2, weight.shape[2], sh).unfold(3, weight.shape[3], sw)
    return torch.einsum("nchwab,ocab->nohw", windows, weight)


@mutant(f"{A}.conv2d", "kernel flipped")
def conv2d_flipped(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph))
    windows = x.unfold(2, weight.shape[2], sh).unfold(3, weight.shape[3], sw)
    out = torch.einsum("nchwab,ocab->nohw", windows, torch.flip(weight, (2, 3)))
    return out if bias is None else out + bias[None, :, None, None]


@mutant(f"{A}.conv2d", "stride ignored")
def conv2d_no_stride(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph))
    windows = x.unfold(2, weight.shape[2], 1).unfold(3, weight.shape[3], 1)
    out = torch.einsum("nchwab,ocab->nohw", windows, weight)
    return out if bias is None else out + bias[None, :, None, None]


@mutant(f"{A}.conv2d", "sums over channels before weighting (one kernel per output)")
def conv2d_channel_sum(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph)).sum(1, keepdim=True)
    windows = x.unfold(2, weight.shape[2], sh).unfold(3, weight.shape[3], sw)
    out = torch.einsum("nchwab,oab->nohw", windows, weight[:, 0])
    return out if bias is None else out + bias[None, :, None, None]


@alternate(f"{A}.conv2d", "im2col: F.unfold (im2col) + one matmul")
def conv2d_im2col(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    n, _, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    cols = F.unfold(input, (kh, kw), padding=(ph, pw), stride=(sh, sw))   # (N, C_in*kh*kw, L)
    out = weight.reshape(c_out, -1) @ cols                                 # (N, C_out, L)
    if bias is not None:
        out = out + bias[None, :, None]
    return out.reshape(n, c_out, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)


@alternate(f"{A}.conv2d", "loops: loops over output positions with tensordot")
def conv2d_loops(input, weight, bias=None, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    x = torch.zeros(n, c_in, h + 2 * ph, w + 2 * pw, dtype=input.dtype, device=input.device)
    x[:, :, ph:ph + h, pw:pw + w] = input
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = torch.empty(n, c_out, oh, ow, dtype=input.dtype, device=input.device)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = torch.tensordot(patch, weight, dims=([1, 2, 3], [1, 2, 3]))
    if bias is not None:
        out += bias.reshape(1, c_out, 1, 1)
    return out


@alternate(f"{A}.conv2d", "tensor-unfold: strided views + one einsum")
def conv2d_views(input, weight, bias=None, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    x = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    x[:, :, ph:ph + h, pw:pw + w] = input
    windows = x.unfold(2, weight.shape[2], sh).unfold(3, weight.shape[3], sw)
    out = torch.einsum("nchwab,ocab->nohw", windows, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# conv1x1 --------------------------------------------------------------------------------------
@mutant(f"{A}.conv1x1", "weight matrix transposed")
def conv1x1_transposed(input, weight, bias=None):
    n, c_in, h, w = input.shape
    matrix = weight[:, :, 0, 0].T.reshape(weight.shape[0], c_in)
    out = (matrix @ input.reshape(n, c_in, h * w)).reshape(n, -1, h, w)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv1x1", "bias ignored")
def conv1x1_no_bias(input, weight, bias=None):
    n, c_in, h, w = input.shape
    return (weight[:, :, 0, 0] @ input.reshape(n, c_in, h * w)).reshape(n, -1, h, w)


@mutant(f"{A}.conv1x1", "output reshaped in the wrong axis order")
def conv1x1_bad_reshape(input, weight, bias=None):
    n, c_in, h, w = input.shape
    out = (weight[:, :, 0, 0] @ input.reshape(n, c_in, h * w)).reshape(n, h, w, -1)
    out = out.permute(0, 3, 1, 2)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv1x1", "einsum: einsum")
def conv1x1_einsum(input, weight, bias=None):
    out = torch.einsum("oc,nchw->nohw", weight[:, :, 0, 0], input)
    return out if bias is None else out + bias[:, None, None]


@alternate(f"{A}.conv1x1", "matmul: channels-last matmul with the transposed weight")
def conv1x1_channels_last(input, weight, bias=None):
    out = input.permute(0, 2, 3, 1) @ weight.flatten(1).T     # (N, H, W, C_out)
    if bias is not None:
        out = out + bias
    return out.permute(0, 3, 1, 2).contiguous()


# max_pool2d -----------------------------------------------------------------------------------
@mutant(f"{A}.max_pool2d", "zero padding instead of -inf")
def max_pool2d_zero_pad(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))


@mutant(f"{A}.max_pool2d", "stride defaults to 1")
def max_pool2d_stride_one(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = 1 if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))


@mutant(f"{A}.max_pool2d", "ceil mode: keeps partial windows")
def max_pool2d_ceil(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw + sw - 1, ph, ph + sh - 1), value=float("-inf"))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))


@alternate(f"{A}.max_pool2d", "loops: loops over windows")
def max_pool2d_loops(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = torch.empty(n, c, oh, ow, dtype=input.dtype, device=input.device)
    for i in range(oh):
        for j in range(ow):
            top, left = i * sh - ph, j * sw - pw
            window = input[:, :, max(top, 0):top + kh, max(left, 0):left + kw]
            out[:, :, i, j] = window.amax(dim=(2, 3))
    return out


@alternate(f"{A}.max_pool2d", "slices: running maximum over kernel taps (strided slices)")
def max_pool2d_taps(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = None
    for a in range(kh):
        for b in range(kw):
            tap = x[:, :, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
            out = tap if out is None else torch.maximum(out, tap)
    return out.clone()


# avg_pool2d -----------------------------------------------------------------------------------
@mutant(f"{A}.avg_pool2d", "padding not counted (count_include_pad=False)")
def avg_pool2d_exclude_pad(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1))
    ones = F.pad(torch.ones_like(input[:1, :1]), (pw, pw, ph, ph))
    count = ones.unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1))
    return x / count


@mutant(f"{A}.avg_pool2d", "stride defaults to 1")
def avg_pool2d_stride_one(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = 1 if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))


@mutant(f"{A}.avg_pool2d", "pads with -inf like max pooling")
def avg_pool2d_inf_pad(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    return x.unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))


@alternate(f"{A}.avg_pool2d", "slices: sum of strided slices over kernel taps, divided by kh*kw")
def avg_pool2d_taps(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph))
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    total = x.new_zeros(x.shape[0], x.shape[1], oh, ow)
    for a in range(kh):
        for b in range(kw):
            total += x[:, :, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
    return total / (kh * kw)


@alternate(f"{A}.avg_pool2d", "im2col: F.unfold, then mean over each column")
def avg_pool2d_unfold(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    cols = F.unfold(input.reshape(n * c, 1, h, w), (kh, kw), padding=(ph, pw), stride=(sh, sw))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return cols.mean(dim=1).reshape(n, c, oh, ow)


# conv2d_num_params ----------------------------------------------------------------------------
@mutant(f"{A}.conv2d_num_params", "bias forgotten")
def conv2d_num_params_no_bias(c_in, c_out, kh, kw, bias=True):
    return c_out * c_in * kh * kw


@mutant(f"{A}.conv2d_num_params", "one bias per input channel")
def conv2d_num_params_bias_per_input(c_in, c_out, kh, kw, bias=True):
    return c_out * c_in * kh * kw + (c_in if bias else 0)


@mutant(f"{A}.conv2d_num_params", "filters do not span the input channels")
def conv2d_num_params_no_c_in(c_in, c_out, kh, kw, bias=True):
    return c_out * kh * kw + (c_out if bias else 0)


@alternate(f"{A}.conv2d_num_params", "math: math.prod of the weight shape")
def conv2d_num_params_prod(c_in, c_out, kh, kw, bias=True):
    import math
    shapes = [(c_out, c_in, kh, kw)] + ([(c_out,)] if bias else [])
    return sum(math.prod(shape) for shape in shapes)


@alternate(f"{A}.conv2d_num_params", "meta: count nn.Conv2d's parameters on the meta device")
def conv2d_num_params_meta(c_in, c_out, kh, kw, bias=True):
    layer = torch.nn.Conv2d(c_in, c_out, (kh, kw), bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.conv2d", "padded input created on the CPU (torch.zeros without device=)")
def conv2d_cpu_padding(input, weight, bias=None, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    padded = torch.zeros(n, c_in, h + 2 * ph, w + 2 * pw, dtype=input.dtype)  # <- CPU tensor
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = input.new_zeros(n, c_out, out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            window = padded[:, :, a:a + sh * (out_h - 1) + 1:sh, b:b + sw * (out_w - 1) + 1:sw]
            out += torch.einsum("nchw,oc->nohw", window, weight[:, :, a, b])
    if bias is not None:
        out += bias.view(1, c_out, 1, 1)
    return out


@device_mutant(f"{A}.conv1x1", "accumulator created on the CPU (torch.zeros without device=)")
def conv1x1_cpu_accumulator(input, weight, bias=None):
    n, c_in, h, w = input.shape
    c_out = weight.shape[0]
    out = torch.zeros(n, c_out, h * w, dtype=input.dtype)  # <- CPU tensor
    out += weight.reshape(c_out, c_in) @ input.reshape(n, c_in, h * w)
    if bias is not None:
        out = out + bias.view(1, c_out, 1)
    return out.reshape(n, c_out, h, w)


@device_mutant(f"{A}.max_pool2d", "-inf padding created on the CPU (torch.full without device=)")
def max_pool2d_cpu_padding(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    size = (n, c, h + 2 * ph, w + 2 * pw)
    padded = torch.full(size, float("-inf"), dtype=input.dtype)  # <- CPU tensor
    padded[:, :, ph:ph + h, pw:pw + w] = input
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)
    return windows.amax(dim=(-2, -1))


@device_mutant(f"{A}.avg_pool2d", "zero padding created on the CPU (torch.zeros without device=)")
def avg_pool2d_cpu_padding(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    padded = torch.zeros(n, c, h + 2 * ph, w + 2 * pw, dtype=input.dtype)  # <- CPU tensor
    padded[:, :, ph:ph + h, pw:pw + w] = input
    return padded.unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# conv2d_num_params
@alternate(f"{A}.conv2d_num_params", "functools: reduce(operator.mul) over the weight's shape")
def conv2d_num_params_reduce(c_in, c_out, kh, kw, bias=True):
    import functools
    import operator
    return functools.reduce(operator.mul, (c_out, c_in, kh, kw), 1) + (c_out if bias else 0)


@alternate(f"{A}.conv2d_num_params", "loops: add up one filter (weights and bias) at a time")
def conv2d_num_params_per_filter(c_in, c_out, kh, kw, bias=True):
    total = 0
    for _ in range(c_out):
        total += c_in * kh * kw
        if bias:
            total += 1
    return total


# conv1x1
@alternate(f"{A}.conv1x1", "tensordot: contract the channel axes, then C_out back to axis 1")
def conv1x1_tensordot(input, weight, bias=None):
    out = torch.tensordot(weight[:, :, 0, 0], input, dims=([1], [1]))     # (C_out, N, H, W)
    if bias is not None:
        out = out + bias.view(-1, 1, 1, 1)
    return out.transpose(0, 1)


@alternate(f"{A}.conv1x1", "broadcast: (N, 1, C_in, H, W) * (C_out, C_in, 1, 1), sum over C_in")
def conv1x1_broadcast(input, weight, bias=None):
    out = (input[:, None] * weight[None]).sum(dim=2)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# max_pool2d
@alternate(f"{A}.max_pool2d", "where: zero-padded windows, the padded cells masked to -inf")
def max_pool2d_where(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    padded = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    rows = torch.arange(h + 2 * ph, device=input.device)
    cols = torch.arange(w + 2 * pw, device=input.device)
    real = (((rows >= ph) & (rows < ph + h))[:, None]
            & ((cols >= pw) & (cols < pw + w))[None, :])
    masked = torch.where(real, padded, float("-inf"))
    return masked.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))


@alternate(f"{A}.max_pool2d", "python-list: each tap's rows and columns picked by Python lists")
def max_pool2d_lists(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    padded = input.new_full((n, c, h + 2 * ph, w + 2 * pw), float("-inf"))
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = None
    for a in range(kh):
        for b in range(kw):
            rows = [a + i * sh for i in range(out_h)]
            cols = [b + j * sw for j in range(out_w)]
            tap = padded[:, :, rows][:, :, :, cols]
            out = tap if out is None else torch.maximum(out, tap)
    return out


@alternate(f"{A}.max_pool2d", "stack-cat: every tap's strided slice stacked, amax over the stack")
def max_pool2d_stack(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    padded = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    out_h, out_w = (padded.shape[2] - kh) // sh + 1, (padded.shape[3] - kw) // sw + 1
    taps = [padded[:, :, a:a + sh * (out_h - 1) + 1:sh, b:b + sw * (out_w - 1) + 1:sw]
            for a in range(kh) for b in range(kw)]
    return torch.stack(taps).amax(dim=0)


# avg_pool2d
@alternate(f"{A}.avg_pool2d", "toeplitz: averaging matrices on both sides, A_h @ x @ A_w^T")
def avg_pool2d_matrices(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = input.shape[-2:]

    def averaging(size, k, s, p):
        """(outputs, size): 1/k where output i's window (padding counted) covers input t."""
        count = (size + 2 * p - k) // s + 1
        start = torch.arange(count, device=input.device)[:, None] * s - p
        offset = torch.arange(size, device=input.device)[None, :] - start
        return ((offset >= 0) & (offset < k)).to(input.dtype) / k

    return averaging(h, kh, sh, ph) @ input @ averaging(w, kw, sw, pw).T


@alternate(f"{A}.avg_pool2d", "cumsum: a float64 summed-area table, four corners per window")
def avg_pool2d_integral_image(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    table = torch.zeros(n, c, h + 2 * ph + 1, w + 2 * pw + 1, dtype=torch.float64,
                        device=input.device)
    table[:, :, ph + 1:ph + 1 + h, pw + 1:pw + 1 + w] = input
    table = table.cumsum(2).cumsum(3)        # table[i, j] = sum of padded[:i, :j]
    top, bottom = slice(0, sh * (out_h - 1) + 1, sh), slice(kh, kh + sh * (out_h - 1) + 1, sh)
    left, right = slice(0, sw * (out_w - 1) + 1, sw), slice(kw, kw + sw * (out_w - 1) + 1, sw)
    sums = (table[:, :, bottom, right] - table[:, :, top, right]
            - table[:, :, bottom, left] + table[:, :, top, left])
    return (sums / (kh * kw)).to(input.dtype)


@alternate(f"{A}.avg_pool2d", "as_strided: windows of a zero-padded copy, summed, / (kh * kw)")
def avg_pool2d_as_strided(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    padded = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    s = padded.stride()
    windows = padded.as_strided((n, c, out_h, out_w, kh, kw),
                                (s[0], s[1], sh * s[2], sw * s[3], s[2], s[3]))
    return windows.sum(dim=(-2, -1)) / (kh * kw)


# conv2d
@alternate(f"{A}.conv2d", "fft: conjugate spectra of the filters, a complex einsum, in float64")
def conv2d_fft(input, weight, bias=None, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    size = (h + 2 * ph, w + 2 * pw)
    padded = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    spectrum = torch.einsum("nchw,ochw->nohw", torch.fft.rfft2(padded),
                            torch.fft.rfft2(weight.double(), s=size).conj())
    full = torch.fft.irfft2(spectrum, s=size)
    out = full[:, :, :size[0] - kh + 1:sh, :size[1] - kw + 1:sw].to(input.dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "as_strided: (N, C, H_out, W_out, kh, kw) windows, one tensordot")
def conv2d_as_strided(input, weight, bias=None, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    s = padded.stride()
    windows = padded.as_strided((n, c_in, out_h, out_w, kh, kw),
                                (s[0], s[1], sh * s[2], sw * s[3], s[2], s[3]))
    out = torch.tensordot(windows, weight, dims=([1, 4, 5], [1, 2, 3]))   # (N, H', W', C_out)
    out = out.permute(0, 3, 1, 2)
    return out if bias is None else out + bias.view(1, -1, 1, 1)
