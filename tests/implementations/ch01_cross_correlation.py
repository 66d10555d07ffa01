"""Mutants and alternates for assignment 01_cross_correlation."""
import torch

from autograder import provided

from . import alternate, device_mutant, mutant

A = "01_cross_correlation"


# corr2d ---------------------------------------------------------------------------------------
@mutant(f"{A}.corr2d", "the book's version: two loops over output positions, one (H, W) image")
def corr2d_book(x, k):
    kh, kw = k.shape
    y = x.new_zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


@mutant(f"{A}.corr2d", "kernel flipped (computes true convolution)")
def corr2d_flipped(x, k):
    k = torch.flip(k, (0, 1))
    kh, kw = k.shape
    oh, ow = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    out = x.new_zeros(*x.shape[:-2], oh, ow)
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * x[..., a:a + oh, b:b + ow]
    return out


@mutant(f"{A}.corr2d", "off-by-one output size (H - kh)")
def corr2d_short(x, k):
    kh, kw = k.shape
    oh, ow = x.shape[-2] - kh, x.shape[-1] - kw
    out = x.new_zeros(*x.shape[:-2], oh, ow)
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * x[..., a:a + oh, b:b + ow]
    return out


@mutant(f"{A}.corr2d", "kernel transposed")
def corr2d_transposed(x, k):
    k = k.T
    kh, kw = k.shape
    oh, ow = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    out = x.new_zeros(*x.shape[:-2], oh, ow)
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * x[..., a:a + oh, b:b + ow]
    return out


@mutant(f"{A}.corr2d", "always float32 (ignores the input's dtype)")
def corr2d_float32(x, k):
    kh, kw = k.shape
    oh, ow = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    out = torch.zeros(*x.shape[:-2], oh, ow, device=x.device)
    for a in range(kh):
        for b in range(kw):
            out += (k[a, b] * x[..., a:a + oh, b:b + ow]).float()
    return out


@mutant(f"{A}.corr2d", "image axes taken as the first two (x.shape[0], x.shape[1])")
def corr2d_first_axes(x, k):
    kh, kw = k.shape
    windows = x.unfold(0, kh, 1).unfold(1, kw, 1)     # windows of the first two axes
    return torch.einsum("ij...ab,ab->ij...", windows, k)


@mutant(f"{A}.corr2d", "right values, but a loop over the images (not vectorised)")
def corr2d_loop_over_images(x, k):
    kh, kw = k.shape
    images = x.reshape(-1, *x.shape[-2:])
    outs = [torch.einsum("ijab,ab->ij", image.unfold(0, kh, 1).unfold(1, kw, 1), k)
            for image in images]
    return torch.stack(outs).reshape(*x.shape[:-2], *outs[0].shape)


@mutant(f"{A}.corr2d", "right values, but a loop over output positions (not vectorised)")
def corr2d_loop_over_positions(x, k):
    kh, kw = k.shape
    out = x.new_zeros(*x.shape[:-2], x.shape[-2] - kh + 1, x.shape[-1] - kw + 1)
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            out[..., i, j] = (x[..., i:i + kh, j:j + kw] * k).sum(dim=(-2, -1))
    return out


@alternate(f"{A}.corr2d", "im2col: F.unfold (im2col) on the flattened batch + matmul")
def corr2d_unfold(x, k):
    import torch.nn.functional as F
    (h, w), (kh, kw) = x.shape[-2:], k.shape
    cols = F.unfold(x.reshape(-1, 1, h, w), (kh, kw))  # (images, kh*kw, L)
    out = k.reshape(1, -1) @ cols                       # (images, 1, L)
    return out.reshape(*x.shape[:-2], h - kh + 1, w - kw + 1)


@alternate(f"{A}.corr2d", "tensor-unfold: strided views of the last two axes + einsum")
def corr2d_views(x, k):
    kh, kw = k.shape
    rows, cols = x.dim() - 2, x.dim() - 1               # the image axes, counted from the front
    windows = x.unfold(rows, kh, 1).unfold(cols, kw, 1)  # (..., oh, ow, kh, kw), a view
    return torch.einsum("...ijab,ab->...ij", windows, k)


@alternate(f"{A}.corr2d", "as_strided: as_strided windows of a contiguous copy, one tensordot")
def corr2d_as_strided(x, k):
    kh, kw = k.shape
    x = x.contiguous()
    h, w = x.shape[-2:]
    shape = (*x.shape[:-2], h - kh + 1, w - kw + 1, kh, kw)
    strides = (*x.stride()[:-2], w, 1, w, 1)
    windows = x.as_strided(shape, strides)
    return torch.tensordot(windows, k, dims=([-2, -1], [0, 1]))


# convolve2d -----------------------------------------------------------------------------------
@mutant(f"{A}.convolve2d", "kernel not flipped (cross-correlation)")
def convolve2d_unflipped(x, k):
    return torch.einsum("ijab,ab->ij", x.unfold(0, k.shape[0], 1).unfold(1, k.shape[1], 1), k)


@mutant(f"{A}.convolve2d", "kernel flipped along rows only")
def convolve2d_rows_only(x, k):
    k = torch.flip(k, (0,))
    return torch.einsum("ijab,ab->ij", x.unfold(0, k.shape[0], 1).unfold(1, k.shape[1], 1), k)


@mutant(f"{A}.convolve2d", "kernel transposed instead of flipped")
def convolve2d_transposed(x, k):
    k = k.T
    return torch.einsum("ijab,ab->ij", x.unfold(0, k.shape[0], 1).unfold(1, k.shape[1], 1), k)


@alternate(f"{A}.convolve2d", "loops: the definition, loop over output positions")
def convolve2d_definition(x, k):
    kh, kw = k.shape
    out = x.new_zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for a in range(kh):
                for b in range(kw):
                    out[i, j] += x[i + kh - 1 - a, j + kw - 1 - b] * k[a, b]
    return out


@alternate(f"{A}.convolve2d", "tensor-unfold: flip the input and the output instead of the kernel")
def convolve2d_flip_input(x, k):
    flipped = torch.flip(x, (0, 1))
    windows = flipped.unfold(0, k.shape[0], 1).unfold(1, k.shape[1], 1)
    return torch.flip(torch.einsum("ijab,ab->ij", windows, k), (0, 1))


# pad2d ----------------------------------------------------------------------------------------
@mutant(f"{A}.pad2d", "all the padding on one side (bottom and right)")
def pad2d_one_side(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    out = x.new_zeros(x.shape[0] + 2 * ph, x.shape[1] + 2 * pw)
    out[:x.shape[0], :x.shape[1]] = x
    return out


@mutant(f"{A}.pad2d", "pair read as (columns, rows)")
def pad2d_swapped(x, padding):
    pw, ph = (padding, padding) if isinstance(padding, int) else padding
    out = x.new_zeros(x.shape[0] + 2 * ph, x.shape[1] + 2 * pw)
    out[ph:ph + x.shape[0], pw:pw + x.shape[1]] = x
    return out


@mutant(f"{A}.pad2d", "padding counted in total, not per side")
def pad2d_total(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    top, left = ph // 2, pw // 2
    out = x.new_zeros(x.shape[0] + ph, x.shape[1] + pw)
    out[top:top + x.shape[0], left:left + x.shape[1]] = x
    return out


@mutant(f"{A}.pad2d", "returns x itself when there is nothing to pad")
def pad2d_alias(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    if ph == pw == 0:
        return x
    h, w = x.shape
    out = x.new_zeros(h + 2 * ph, w + 2 * pw)
    out[ph:ph + h, pw:pw + w] = x
    return out


@alternate(f"{A}.pad2d", "stack-cat: torch.cat of zero blocks")
def pad2d_cat(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    side = x.new_zeros(x.shape[0], pw)
    x = torch.cat([side, x, side], dim=1)
    cap = x.new_zeros(ph, x.shape[1])
    return torch.cat([cap, x, cap], dim=0)


@alternate(f"{A}.pad2d", "matmul: shifted identity matrices: P_h @ x @ P_w^T")
def pad2d_matrices(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    rows = torch.eye(h + 2 * ph, h, dtype=x.dtype, device=x.device).roll(ph, 0)
    cols = torch.eye(w + 2 * pw, w, dtype=x.dtype, device=x.device).roll(pw, 0)
    return rows @ x @ cols.T


# corr2d_strided -------------------------------------------------------------------------------
@mutant(f"{A}.corr2d_strided", "ceil instead of floor (keeps a partial last window)")
def corr2d_strided_ceil(x, k, stride=1, padding=0):
    import math
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = x.new_zeros(x.shape[0] + 2 * ph + sh, x.shape[1] + 2 * pw + sw)
    xp[ph:ph + x.shape[0], pw:pw + x.shape[1]] = x
    kh, kw = k.shape
    oh = math.ceil((x.shape[0] + 2 * ph - kh) / sh) + 1
    ow = math.ceil((x.shape[1] + 2 * pw - kw) / sw) + 1
    windows = xp.unfold(0, kh, sh).unfold(1, kw, sw)[:oh, :ow]
    return torch.einsum("ijab,ab->ij", windows, k)


@mutant(f"{A}.corr2d_strided", "padding on the top and left only")
def corr2d_strided_one_side(x, k, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = x.new_zeros(x.shape[0] + 2 * ph, x.shape[1] + 2 * pw)
    xp[2 * ph:, 2 * pw:] = x
    windows = xp.unfold(0, k.shape[0], sh).unfold(1, k.shape[1], sw)
    return torch.einsum("ijab,ab->ij", windows, k)


@mutant(f"{A}.corr2d_strided", "vertical stride used for both directions")
def corr2d_strided_one_stride(x, k, stride=1, padding=0):
    s = stride if isinstance(stride, int) else stride[0]
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = x.new_zeros(x.shape[0] + 2 * ph, x.shape[1] + 2 * pw)
    xp[ph:ph + x.shape[0], pw:pw + x.shape[1]] = x
    windows = xp.unfold(0, k.shape[0], s).unfold(1, k.shape[1], s)
    return torch.einsum("ijab,ab->ij", windows, k)


@alternate(f"{A}.corr2d_strided", "loops: only the needed windows, in loops")
def corr2d_strided_loops(x, k, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = torch.zeros(x.shape[0] + 2 * ph, x.shape[1] + 2 * pw, dtype=x.dtype, device=x.device)
    xp[ph:ph + x.shape[0], pw:pw + x.shape[1]] = x
    kh, kw = k.shape
    oh, ow = (xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1
    out = torch.empty(oh, ow, dtype=x.dtype, device=x.device)
    for i in range(oh):
        for j in range(ow):
            out[i, j] = (xp[i * sh:i * sh + kh, j * sw:j * sw + kw] * k).sum()
    return out


@alternate(f"{A}.corr2d_strided", "tensor-unfold: F.pad + strided unfold views + einsum")
def corr2d_strided_unfold(x, k, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = F.pad(x, (pw, pw, ph, ph))
    windows = xp.unfold(0, k.shape[0], sh).unfold(1, k.shape[1], sw)
    return torch.einsum("ijab,ab->ij", windows, k)


# conv_output_size -----------------------------------------------------------------------------
@mutant(f"{A}.conv_output_size", "ceil instead of floor")
def conv_output_size_ceil(i, k, s=1, p=0, d=1):
    span = d * (k - 1) + 1
    if span > i + 2 * p:
        raise ValueError("kernel does not fit")
    return -(-(i + 2 * p - span) // s) + 1


@mutant(f"{A}.conv_output_size", "padding counted once, not per side")
def conv_output_size_one_pad(i, k, s=1, p=0, d=1):
    span = d * (k - 1) + 1
    if span > i + p:
        raise ValueError("kernel does not fit")
    return (i + p - span) // s + 1


@mutant(f"{A}.conv_output_size", "dilation ignored")
def conv_output_size_no_dilation(i, k, s=1, p=0, d=1):
    if k > i + 2 * p:
        raise ValueError("kernel does not fit")
    return (i + 2 * p - k) // s + 1


@mutant(f"{A}.conv_output_size", "returns 0 instead of raising ValueError")
def conv_output_size_no_error(i, k, s=1, p=0, d=1):
    return max(0, (i + 2 * p - d * (k - 1) - 1) // s + 1)


@mutant(f"{A}.conv_output_size", "int() of a true division: rounds toward zero, not down")
def conv_output_size_truncates(i, k, s=1, p=0, d=1):
    out = int((i + 2 * p - d * (k - 1) - 1) / s) + 1
    if out < 1:
        raise ValueError("no window fits")
    return out


@mutant(f"{A}.conv_output_size", "returns a float")
def conv_output_size_float(i, k, s=1, p=0, d=1):
    import math
    if d * (k - 1) + 1 > i + 2 * p:
        raise ValueError("kernel does not fit")
    return math.floor((i + 2 * p - d * (k - 1) - 1) / s) + 1.0


@alternate(f"{A}.conv_output_size", "loops: count the window positions one by one")
def conv_output_size_count(i, k, s=1, p=0, d=1):
    span, length = d * (k - 1) + 1, i + 2 * p
    if span > length:
        raise ValueError(f"a kernel spanning {span} does not fit in {length}")
    count, start = 0, 0
    while start + span <= length:
        count, start = count + 1, start + s
    return count


@alternate(f"{A}.conv_output_size", "math: math.floor of a true division")
def conv_output_size_floor(i, k, s=1, p=0, d=1):
    import math
    if i + 2 * p - d * (k - 1) - 1 < 0:
        raise ValueError("the dilated kernel is longer than the padded input")
    return int(math.floor((i + 2 * p - d * (k - 1) - 1) / s)) + 1


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.corr2d", "output created on the CPU (torch.zeros without device=)")
def corr2d_cpu_output(x, k):
    kh, kw = k.shape
    out_h, out_w = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    out = torch.zeros(*x.shape[:-2], out_h, out_w, dtype=x.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * x[..., a:a + out_h, b:b + out_w]
    return out


@device_mutant(f"{A}.convolve2d", "output created on the CPU (torch.zeros without device=)")
def convolve2d_cpu_output(x, k):
    k = torch.flip(k, dims=(0, 1))
    kh, kw = k.shape
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = torch.zeros(out_h, out_w, dtype=x.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * x[a:a + out_h, b:b + out_w]
    return out


@device_mutant(f"{A}.pad2d", "padded tensor created on the CPU (torch.zeros without device=)")
def pad2d_cpu_output(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    out = torch.zeros(h + 2 * ph, w + 2 * pw, dtype=x.dtype)  # <- CPU tensor
    out[ph:ph + h, pw:pw + w] = x
    return out


@device_mutant(f"{A}.corr2d_strided", "padded input created on the CPU")
def corr2d_strided_cpu_padding(x, k, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    padded = torch.zeros(h + 2 * ph, w + 2 * pw, dtype=x.dtype)  # <- CPU tensor
    padded[ph:ph + h, pw:pw + w] = x
    kh, kw = k.shape
    out_h, out_w = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    full = x.new_zeros(out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            full += k[a, b] * padded[a:a + out_h, b:b + out_w]
    return full[::sh, ::sw]


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# conv_output_size
@alternate(f"{A}.conv_output_size", "recursion: one window, then those that fit one stride later")
def conv_output_size_recursive(i, k, s=1, p=0, d=1):
    span, length = d * (k - 1) + 1, i + 2 * p
    if span > length:
        raise ValueError(f"a kernel spanning {span} inputs does not fit in {length}")

    def windows(room):
        return 0 if room < span else 1 + windows(room - s)

    return windows(length)


@alternate(f"{A}.conv_output_size", "range: len(range(...)) of the window start positions")
def conv_output_size_range(i, k, s=1, p=0, d=1):
    last_start = i + 2 * p - d * (k - 1) - 1
    if last_start < 0:
        raise ValueError("the dilated kernel is longer than the padded input")
    return len(range(0, last_start + 1, s))


# pad2d
@alternate(f"{A}.pad2d", "python-list: x grown by a zero row and column, read with index lists")
def pad2d_lists(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    grown = torch.cat([x, x.new_zeros(h, 1)], dim=1)
    grown = torch.cat([grown, x.new_zeros(1, w + 1)], dim=0)       # row h and column w: zeros
    rows = [r - ph if 0 <= r - ph < h else h for r in range(h + 2 * ph)]
    cols = [q - pw if 0 <= q - pw < w else w for q in range(w + 2 * pw)]
    return grown[rows][:, cols]


@alternate(f"{A}.pad2d", "where: every cell reads x at clamped coordinates, zero outside x")
def pad2d_where(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    rows = torch.arange(h + 2 * ph, device=x.device) - ph
    cols = torch.arange(w + 2 * pw, device=x.device) - pw
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    values = x[rows.clamp(0, h - 1)[:, None], cols.clamp(0, w - 1)[None, :]]
    return torch.where(inside, values, torch.zeros_like(values))


@alternate(f"{A}.pad2d", "scatter: x scattered into a flat zero buffer at its padded positions")
def pad2d_scatter(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    width = w + 2 * pw
    rows = torch.arange(h, device=x.device)[:, None] + ph
    cols = torch.arange(w, device=x.device)[None, :] + pw
    flat = x.new_zeros((h + 2 * ph) * width)
    flat.scatter_(0, (rows * width + cols).reshape(-1), x.reshape(-1))
    return flat.reshape(h + 2 * ph, width)


# corr2d (vectorised: no loop over images or positions)
@alternate(f"{A}.corr2d", "fft: rfft2 of images and kernel, product with the conjugate, float64")
def corr2d_fft(x, k):
    h, w = x.shape[-2:]
    kh, kw = k.shape
    spectrum = torch.fft.rfft2(x.double()) * torch.fft.rfft2(k.double(), s=(h, w)).conj()
    full = torch.fft.irfft2(spectrum, s=(h, w))     # circular: the valid part does not wrap
    return full[..., :h - kh + 1, :w - kw + 1].to(x.dtype)


@alternate(f"{A}.corr2d", "toeplitz: per kernel row, image rows @ a banded (W, W_out) matrix")
def corr2d_toeplitz(x, k):
    kh, kw = k.shape
    h, w = x.shape[-2:]
    out_h, out_w = h - kh + 1, w - kw + 1
    offset = (torch.arange(w, device=x.device)[:, None]
              - torch.arange(out_w, device=x.device)[None, :])         # column j + b, output j
    inside = (offset >= 0) & (offset < kw)
    out = x.new_zeros(*x.shape[:-2], out_h, out_w)
    for a in range(kh):                                   # band[j + b, j] = k[a, b]
        band = torch.where(inside, k[a][offset.clamp(0, kw - 1)], k.new_zeros(()))
        out += x[..., a:a + out_h, :] @ band
    return out


# convolve2d
@alternate(f"{A}.convolve2d", "python-list: the kernel reversed with Python index lists, views")
def convolve2d_lists(x, k):
    kh, kw = k.shape
    flipped = k[list(range(kh - 1, -1, -1))][:, list(range(kw - 1, -1, -1))]
    windows = x.unfold(0, kh, 1).unfold(1, kw, 1)
    return torch.einsum("ijab,ab->ij", windows, flipped)


@alternate(f"{A}.convolve2d", "fft: product of the spectra (no conjugate: a true convolution)")
def convolve2d_fft(x, k):
    h, w = x.shape
    kh, kw = k.shape
    spectrum = torch.fft.rfft2(x.double()) * torch.fft.rfft2(k.double(), s=(h, w))
    full = torch.fft.irfft2(spectrum, s=(h, w))       # circular: rows >= kh - 1 do not wrap
    return full[kh - 1:, kw - 1:].to(x.dtype)


@alternate(f"{A}.convolve2d", "provided: provided.corr2d with the kernel turned by torch.rot90")
def convolve2d_rot90(x, k):
    return provided.corr2d(x, torch.rot90(k, 2))


# corr2d_strided
@alternate(f"{A}.corr2d_strided", "python-list: stride-1 result, every s-th row/column by a list")
def corr2d_strided_lists(x, k, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    full = provided.corr2d(provided.pad2d(x, padding), k)
    rows = list(range(0, full.shape[0], sh))
    cols = list(range(0, full.shape[1], sw))
    return full[rows][:, cols]


@alternate(f"{A}.corr2d_strided", "as_strided: windows at strided positions, one tensordot")
def corr2d_strided_as_strided(x, k, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    kh, kw = k.shape
    padded = x.new_zeros(h + 2 * ph, w + 2 * pw)
    padded[ph:ph + h, pw:pw + w] = x
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    row, col = padded.stride()
    windows = padded.as_strided((out_h, out_w, kh, kw), (sh * row, sw * col, row, col))
    return torch.tensordot(windows, k, dims=([2, 3], [0, 1]))


@alternate(f"{A}.corr2d_strided", "fft: a float64 correlation of the padded image, then subsampled")
def corr2d_strided_fft(x, k, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    kh, kw = k.shape
    size = (h + 2 * ph, w + 2 * pw)
    padded = torch.zeros(size, dtype=torch.float64, device=x.device)
    padded[ph:ph + h, pw:pw + w] = x
    spectrum = torch.fft.rfft2(padded) * torch.fft.rfft2(k.double(), s=size).conj()
    full = torch.fft.irfft2(spectrum, s=size)[:size[0] - kh + 1, :size[1] - kw + 1]
    return full[::sh, ::sw].to(x.dtype)
