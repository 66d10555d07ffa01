"""Mutants and alternates for assignment 07_gradients."""
import torch

from . import alternate, device_mutant, mutant

A = "07_gradients"


# conv_transpose2d -----------------------------------------------------------------------------
@mutant(f"{A}.conv_transpose2d", "kernel not flipped in the zero-insertion form")
def conv_transpose2d_no_flip(input, weight, stride=1, padding=0, output_padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[2:]
    spread = input.new_zeros(n, c_in, (h - 1) * sh + 1, (w - 1) * sw + 1)
    spread[:, :, ::sh, ::sw] = input
    spread = F.pad(spread, (kw - 1 - pw, kw - 1 - pw + opw, kh - 1 - ph, kh - 1 - ph + oph))
    windows = spread.unfold(2, kh, 1).unfold(3, kw, 1)
    return torch.einsum("nchwab,coab->nohw", windows, weight)


@mutant(f"{A}.conv_transpose2d", "output_padding added on both sides")
def conv_transpose2d_output_padding_both_sides(input, weight, stride=1, padding=0,
                                               output_padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, _, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    full = input.new_zeros(n, c_out, (h - 1) * sh + kh + 2 * oph, (w - 1) * sw + kw + 2 * opw)
    for a in range(kh):
        for b in range(kw):
            full[:, :, oph + a:oph + a + (h - 1) * sh + 1:sh,
                 opw + b:opw + b + (w - 1) * sw + 1:sw] += torch.einsum(
                "nchw,co->nohw", input, weight[:, :, a, b])
    return full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]


@mutant(f"{A}.conv_transpose2d", "padding cropped at the top and left only")
def conv_transpose2d_crop_one_side(input, weight, stride=1, padding=0, output_padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, _, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    full = input.new_zeros(n, c_out, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + (h - 1) * sh + 1:sh, b:b + (w - 1) * sw + 1:sw] += torch.einsum(
                "nchw,co->nohw", input, weight[:, :, a, b])
    return full[:, :, ph:, pw:]


@mutant(f"{A}.conv_transpose2d", "weight read as (C_out, C_in, kh, kw), as in conv2d")
def conv_transpose2d_channels_not_swapped(input, weight, stride=1, padding=0,
                                          output_padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, _, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    full = input.new_zeros(n, c_out, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + (h - 1) * sh + 1:sh, b:b + (w - 1) * sw + 1:sw] += torch.einsum(
                "nchw,oc->nohw", input, weight[:, :, a, b])
    return full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]


@alternate(f"{A}.conv_transpose2d", "stamp a scaled kernel copy per tap, then crop the padding")
def conv_transpose2d_stamp(input, weight, stride=1, padding=0, output_padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, _, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    full = input.new_zeros(n, c_out, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + (h - 1) * sh + 1:sh, b:b + (w - 1) * sw + 1:sw] += torch.einsum(
                "nchw,co->nohw", input, weight[:, :, a, b])
    return full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]


@alternate(f"{A}.conv_transpose2d", "col2im: one matmul, then F.fold adds the overlapping copies")
def conv_transpose2d_fold(input, weight, stride=1, padding=0, output_padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    cols = weight.reshape(c_in, -1).T @ input.reshape(n, c_in, h * w)   # (N, C_out kh kw, H W)
    full_h, full_w = (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw
    full = F.fold(cols, (full_h, full_w), (kh, kw), stride=(sh, sw))
    return full[:, :, ph:full_h - ph, pw:full_w - pw]


@alternate(f"{A}.conv_transpose2d", "one input pixel at a time (a loop over H x W)")
def conv_transpose2d_per_pixel(input, weight, stride=1, padding=0, output_padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, _, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    full = input.new_zeros(n, c_out, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    for i in range(h):
        for j in range(w):
            full[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += torch.einsum(
                "nc,coab->noab", input[:, :, i, j], weight)
    return full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]


# conv2d_backward ------------------------------------------------------------------------------
@mutant(f"{A}.conv2d_backward", "grad_input: kernel not flipped")
def conv2d_backward_no_flip(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    spread = grad_output.new_zeros(n, c_out, h + 2 * ph + kh - 1, w + 2 * pw + kw - 1)
    spread[:, :, kh - 1:kh - 1 + (oh - 1) * sh + 1:sh, kw - 1:kw - 1 + (ow - 1) * sw + 1:sw] = \
        grad_output
    windows = spread.unfold(2, kh, 1).unfold(3, kw, 1)
    grad_input = torch.einsum("nohwab,ocab->nchw", windows, weight)[:, :, ph:ph + h, pw:pw + w]
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return grad_input, grad_weight, grad_output.sum(dim=(0, 2, 3))


@mutant(f"{A}.conv2d_backward", "grad_weight averaged over the batch instead of summed")
def conv2d_backward_weight_mean(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x) / n
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@mutant(f"{A}.conv2d_backward", "grad_bias summed over the positions of the first sample only")
def conv2d_backward_bias_no_batch(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight, grad_output[0].sum(dim=(1, 2))


@mutant(f"{A}.conv2d_backward", "output_padding missing: wrong shape when sizes do not divide")
def conv2d_backward_no_output_padding(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    full = input.new_zeros(n, c_in, (oh - 1) * sh + kh, (ow - 1) * sw + kw)
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return (full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@mutant(f"{A}.conv2d_backward", "padding not cropped: the gradient of the padded input")
def conv2d_backward_padding_kept(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return grad_padded, grad_weight, grad_output.sum(dim=(0, 2, 3))


@mutant(f"{A}.conv2d_backward", "grad_weight: the upstream gradient not spread out by the stride")
def conv2d_backward_weight_ignores_stride(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, 1).unfold(3, kw, 1)[:, :, :oh, :ow]
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@alternate(f"{A}.conv2d_backward", "stamp into the padded input's gradient; grad_weight per tap")
def conv2d_backward_stamp(grad_output, input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    grad_padded = torch.zeros_like(padded)
    grad_weight = torch.zeros_like(weight)
    for a in range(kh):
        for b in range(kw):
            rows, cols = slice(a, a + (oh - 1) * sh + 1, sh), slice(b, b + (ow - 1) * sw + 1, sw)
            grad_padded[:, :, rows, cols] += torch.einsum("nohw,oc->nchw", grad_output,
                                                          weight[:, :, a, b])
            grad_weight[:, :, a, b] = torch.einsum("nohw,nchw->oc", grad_output,
                                                   padded[:, :, rows, cols])
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@alternate(f"{A}.conv2d_backward", "im2col: F.unfold, two matmuls, F.fold")
def conv2d_backward_im2col(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    options = {"kernel_size": (kh, kw), "stride": stride, "padding": padding}
    cols = F.unfold(input, **options)                            # (N, C_in kh kw, L)
    g = grad_output.reshape(n, c_out, -1)                        # (N, C_out, L)
    grad_weight = (g @ cols.transpose(1, 2)).sum(0).reshape(weight.shape)
    grad_cols = weight.reshape(c_out, -1).T @ g                  # (N, C_in kh kw, L)
    grad_input = F.fold(grad_cols, (h, w), **options)
    return grad_input, grad_weight, g.sum(dim=(0, 2))


@alternate(f"{A}.conv2d_backward", "zero insertion, then direct correlations (the book's form)")
def conv2d_backward_zero_insertion(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    dilated = grad_output.new_zeros(n, c_out, (oh - 1) * sh + 1, (ow - 1) * sw + 1)
    dilated[:, :, ::sh, ::sw] = grad_output
    # dL/dw: the padded input correlated with the dilated gradient, a kernel of its own
    x = F.pad(input, (pw, pw, ph, ph))
    windows = x.unfold(2, dilated.shape[2], 1).unfold(3, dilated.shape[3], 1)[:, :, :kh, :kw]
    grad_weight = torch.einsum("ncabuv,nouv->ocab", windows, dilated)
    # dL/dx: the dilated gradient, fully padded, correlated with the flipped kernel
    full = F.pad(dilated, (kw - 1, kw - 1 + (w + 2 * pw - kw) % sw,
                           kh - 1, kh - 1 + (h + 2 * ph - kh) % sh))
    patches = full.unfold(2, kh, 1).unfold(3, kw, 1)
    grad_padded = torch.einsum("nohwab,ocab->nchw", patches, weight.flip(-2, -1))
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.conv_transpose2d", "zero-inserted input created on the CPU")
def conv_transpose2d_cpu_spread(input, weight, stride=1, padding=0, output_padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    size = (n, c_in, (h - 1) * sh + 2 * kh - 1 + oph, (w - 1) * sw + 2 * kw - 1 + opw)
    spread = torch.zeros(size, dtype=input.dtype)  # <- CPU tensor
    spread[:, :, kh - 1:kh - 1 + (h - 1) * sh + 1:sh, kw - 1:kw - 1 + (w - 1) * sw + 1:sw] = input
    spread = spread[:, :, ph:spread.shape[2] - ph, pw:spread.shape[3] - pw]
    flipped = weight.flip(-2, -1).transpose(0, 1)
    windows = spread.unfold(2, kh, 1).unfold(3, kw, 1)
    return torch.einsum("nchwab,ocab->nohw", windows, flipped)


@device_mutant(f"{A}.conv2d_backward", "padded input created on the CPU (no device=)")
def conv2d_backward_cpu_padding(grad_output, input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    _, _, out_h, out_w = grad_output.shape
    grad_bias = grad_output.sum(dim=(0, 2, 3))
    oph, opw = (h + 2 * ph - kh) % sh, (w + 2 * pw - kw) % sw
    spread = grad_output.new_zeros(n, grad_output.shape[1], (out_h - 1) * sh + 2 * kh - 1 + oph,
                                   (out_w - 1) * sw + 2 * kw - 1 + opw)
    spread[:, :, kh - 1:kh - 1 + (out_h - 1) * sh + 1:sh,
           kw - 1:kw - 1 + (out_w - 1) * sw + 1:sw] = grad_output
    spread = spread[:, :, ph:spread.shape[2] - ph, pw:spread.shape[3] - pw]
    grad_input = torch.einsum("nchwab,ocab->nohw", spread.unfold(2, kh, 1).unfold(3, kw, 1),
                              weight.flip(-2, -1).transpose(0, 1))
    padded = torch.zeros(n, c_in, h + 2 * ph, w + 2 * pw, dtype=input.dtype)  # <- CPU tensor
    padded[:, :, ph:ph + h, pw:pw + w] = input
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, windows)
    return grad_input, grad_weight, grad_bias
