"""Mutants and alternates for assignment 06_transposed."""
import torch

from . import alternate, device_mutant, mutant

A = "06_transposed"


# conv_transpose2d -----------------------------------------------------------------------------
@mutant(f"{A}.conv_transpose2d", "output_padding added on both sides")
def conv_transpose2d_op_both_sides(input, weight, bias=None, stride=1, padding=0,
                                   output_padding=0, groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    x = input.reshape(n, groups, c_in // groups, h, w)
    filters = weight.reshape(groups, c_in // groups, c_out_g, kh, kw)
    full = input.new_zeros(n, groups, c_out_g, (h - 1) * sh + dh * (kh - 1) + 1 + 2 * oph,
                           (w - 1) * sw + dw * (kw - 1) + 1 + 2 * opw)
    for a in range(kh):
        for b in range(kw):
            top, left = oph + a * dh, opw + b * dw
            full[..., top:top + (h - 1) * sh + 1:sh, left:left + (w - 1) * sw + 1:sw] += \
                torch.einsum("ngchw,gco->ngohw", x, filters[:, :, :, a, b])
    out = full[..., ph:full.shape[-2] - ph, pw:full.shape[-1] - pw]
    out = out.reshape(n, groups * c_out_g, out.shape[-2], out.shape[-1])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d", "zero insertion and correlation without flipping the kernel")
def conv_transpose2d_not_flipped(input, weight, bias=None, stride=1, padding=0,
                                 output_padding=0, groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    z = input.new_zeros(n, c_in, (h - 1) * sh + 1 + 2 * eh + oph, (w - 1) * sw + 1 + 2 * ew + opw)
    z[:, :, eh:eh + (h - 1) * sh + 1:sh, ew:ew + (w - 1) * sw + 1:sw] = input
    z = z.reshape(n, groups, c_in // groups, z.shape[-2], z.shape[-1])
    filters = weight.reshape(groups, c_in // groups, c_out_g, kh, kw)
    out_h, out_w = z.shape[-2] - eh, z.shape[-1] - ew
    out = input.new_zeros(n, groups, c_out_g, out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            out += torch.einsum("ngchw,gco->ngohw",
                                z[..., a * dh:a * dh + out_h, b * dw:b * dw + out_w],
                                filters[:, :, :, a, b])
    out = out[..., ph:out_h - ph, pw:out_w - pw]
    out = out.reshape(n, groups * c_out_g, out.shape[-2], out.shape[-1])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d", "weight read as (C_out, C_in, kh, kw)")
def conv_transpose2d_layout(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                            groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out_g, _, kh, kw = weight.shape           # wrong: the first axis is C_in
    c_in_g = c_in // groups
    weight = weight.reshape(-1, c_in_g, kh, kw)[:c_out_g * groups]
    x = input.reshape(n, groups, c_in_g, h, w)
    filters = weight.reshape(groups, -1, c_in_g, kh, kw)
    full = input.new_zeros(n, groups, filters.shape[1], (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                           (w - 1) * sw + dw * (kw - 1) + 1 + opw)
    for a in range(kh):
        for b in range(kw):
            full[..., a * dh:a * dh + (h - 1) * sh + 1:sh, b * dw:b * dw + (w - 1) * sw + 1:sw] += \
                torch.einsum("ngchw,goc->ngohw", x, filters[..., a, b])
    out = full[..., ph:full.shape[-2] - ph, pw:full.shape[-1] - pw]
    out = out.reshape(n, -1, out.shape[-2], out.shape[-1])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d", "padding not cropped")
def conv_transpose2d_no_crop(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                             groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    x = input.reshape(n, groups, c_in // groups, h, w)
    filters = weight.reshape(groups, c_in // groups, c_out_g, kh, kw)
    full = input.new_zeros(n, groups, c_out_g, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                           (w - 1) * sw + dw * (kw - 1) + 1 + opw)
    for a in range(kh):
        for b in range(kw):
            full[..., a * dh:a * dh + (h - 1) * sh + 1:sh, b * dw:b * dw + (w - 1) * sw + 1:sw] += \
                torch.einsum("ngchw,gco->ngohw", x, filters[:, :, :, a, b])
    out = full.reshape(n, groups * c_out_g, full.shape[-2], full.shape[-1])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d", "output channels assigned to groups round-robin")
def conv_transpose2d_round_robin(input, weight, bias=None, stride=1, padding=0,
                                 output_padding=0, groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    x = input.reshape(n, groups, c_in // groups, h, w)
    filters = weight.reshape(groups, c_in // groups, c_out_g, kh, kw)
    full = input.new_zeros(n, c_out_g, groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                           (w - 1) * sw + dw * (kw - 1) + 1 + opw)
    for a in range(kh):
        for b in range(kw):
            full[..., a * dh:a * dh + (h - 1) * sh + 1:sh, b * dw:b * dw + (w - 1) * sw + 1:sw] += \
                torch.einsum("ngchw,gco->noghw", x, filters[:, :, :, a, b])
    out = full[..., ph:full.shape[-2] - ph, pw:full.shape[-1] - pw]
    out = out.reshape(n, groups * c_out_g, out.shape[-2], out.shape[-1])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d", "dilation ignored")
def conv_transpose2d_no_dilation(input, weight, bias=None, stride=1, padding=0,
                                 output_padding=0, groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    x = input.reshape(n, groups, c_in // groups, h, w)
    filters = weight.reshape(groups, c_in // groups, c_out_g, kh, kw)
    full = input.new_zeros(n, groups, c_out_g, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw)
    for a in range(kh):
        for b in range(kw):
            full[..., a:a + (h - 1) * sh + 1:sh, b:b + (w - 1) * sw + 1:sw] += \
                torch.einsum("ngchw,gco->ngohw", x, filters[:, :, :, a, b])
    out = full[..., ph:full.shape[-2] - ph, pw:full.shape[-1] - pw]
    out = out.reshape(n, groups * c_out_g, out.shape[-2], out.shape[-1])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d", "im2col: col2im: one matmul per group, then F.fold")
def conv_transpose2d_fold(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                          groups=1, dilation=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    c_in_g = c_in // groups
    size = ((h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1)
    outs = []
    for g in range(groups):
        cols = weight[g * c_in_g:(g + 1) * c_in_g].reshape(c_in_g, -1).T @ \
            input[:, g * c_in_g:(g + 1) * c_in_g].reshape(n, c_in_g, h * w)
        outs.append(F.fold(cols, size, (kh, kw), dilation=(dh, dw), stride=(sh, sw)))
    full = F.pad(torch.cat(outs, dim=1), (0, opw, 0, oph))
    out = full[..., ph:full.shape[-2] - ph, pw:full.shape[-1] - pw]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d", "tensor-unfold: zero insertion, flipped dense block-diagonal kernel, unfold")
def conv_transpose2d_zero_insertion(input, weight, bias=None, stride=1, padding=0,
                                    output_padding=0, groups=1, dilation=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    c_in_g, c_out = c_in // groups, c_out_g * groups
    dense = weight.new_zeros(c_out, c_in, kh, kw)          # conv layout, block diagonal
    for g in range(groups):
        dense[g * c_out_g:(g + 1) * c_out_g, g * c_in_g:(g + 1) * c_in_g] = \
            weight[g * c_in_g:(g + 1) * c_in_g].transpose(0, 1)
    dense = dense.flip(-2, -1)
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    z = input.new_zeros(n, c_in, (h - 1) * sh + 1, (w - 1) * sw + 1)
    z[..., ::sh, ::sw] = input
    z = F.pad(z, (ew, ew + opw, eh, eh + oph))
    win = z.unfold(2, eh + 1, 1).unfold(3, ew + 1, 1)[..., ::dh, ::dw]
    full = torch.einsum("nchwab,ocab->nohw", win, dense)
    out = full[..., ph:full.shape[-2] - ph, pw:full.shape[-1] - pw]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# conv_transpose2d_via_conv --------------------------------------------------------------------
@mutant(f"{A}.conv_transpose2d_via_conv", "kernel not flipped")
def via_conv_not_flipped(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    bh, bw = kh - 1 - ph, kw - 1 - pw
    z = input.new_zeros(n, c_in, (h - 1) * sh + 1 + 2 * bh, (w - 1) * sw + 1 + 2 * bw)
    z[..., bh:bh + (h - 1) * sh + 1:sh, bw:bw + (w - 1) * sw + 1:sw] = input
    k = weight.transpose(0, 1)
    out_h, out_w = z.shape[-2] - kh + 1, z.shape[-1] - kw + 1
    out = input.new_zeros(n, k.shape[0], out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            out += torch.einsum("nchw,oc->nohw", z[..., a:a + out_h, b:b + out_w], k[:, :, a, b])
    return out


@mutant(f"{A}.conv_transpose2d_via_conv", "channel axes not swapped (reshaped to the conv layout)")
def via_conv_not_swapped(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    bh, bw = kh - 1 - ph, kw - 1 - pw
    z = input.new_zeros(n, c_in, (h - 1) * sh + 1 + 2 * bh, (w - 1) * sw + 1 + 2 * bw)
    z[..., bh:bh + (h - 1) * sh + 1:sh, bw:bw + (w - 1) * sw + 1:sw] = input
    k = weight.flip(-2, -1).reshape(weight.shape[1], c_in, kh, kw)
    out_h, out_w = z.shape[-2] - kh + 1, z.shape[-1] - kw + 1
    out = input.new_zeros(n, k.shape[0], out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            out += torch.einsum("nchw,oc->nohw", z[..., a:a + out_h, b:b + out_w], k[:, :, a, b])
    return out


@mutant(f"{A}.conv_transpose2d_via_conv", "zeros inserted after the last input pixel too")
def via_conv_trailing_zeros(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    bh, bw = kh - 1 - ph, kw - 1 - pw
    z = input.new_zeros(n, c_in, h * sh + 2 * bh, w * sw + 2 * bw)
    z[..., bh:bh + h * sh:sh, bw:bw + w * sw:sw] = input
    k = weight.flip(-2, -1).transpose(0, 1)
    out_h, out_w = z.shape[-2] - kh + 1, z.shape[-1] - kw + 1
    out = input.new_zeros(n, k.shape[0], out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            out += torch.einsum("nchw,oc->nohw", z[..., a:a + out_h, b:b + out_w], k[:, :, a, b])
    return out


@mutant(f"{A}.conv_transpose2d_via_conv", "padding k - 1 regardless of p")
def via_conv_full_border(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    bh, bw = kh - 1, kw - 1
    z = input.new_zeros(n, c_in, (h - 1) * sh + 1 + 2 * bh, (w - 1) * sw + 1 + 2 * bw)
    z[..., bh:bh + (h - 1) * sh + 1:sh, bw:bw + (w - 1) * sw + 1:sw] = input
    k = weight.flip(-2, -1).transpose(0, 1)
    out_h, out_w = z.shape[-2] - kh + 1, z.shape[-1] - kw + 1
    out = input.new_zeros(n, k.shape[0], out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            out += torch.einsum("nchw,oc->nohw", z[..., a:a + out_h, b:b + out_w], k[:, :, a, b])
    return out


@alternate(f"{A}.conv_transpose2d_via_conv", "tensor-unfold: F.pad and an unfold-based correlation")
def via_conv_unfold(input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    z = input.new_zeros(n, c_in, (h - 1) * sh + 1, (w - 1) * sw + 1)
    z[..., ::sh, ::sw] = input
    z = F.pad(z, (kw - 1 - pw, kw - 1 - pw, kh - 1 - ph, kh - 1 - ph))
    windows = z.unfold(2, kh, 1).unfold(3, kw, 1)            # (N, C_in, H', W', kh, kw)
    return torch.einsum("nchwab,coab->nohw", windows, weight.flip(-2, -1))


@alternate(f"{A}.conv_transpose2d_via_conv", "im2col: zeros interleaved by stack + reshape, im2col matmul")
def via_conv_interleave(input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, kh, kw = weight.shape[1], weight.shape[2], weight.shape[3]
    z = input.new_zeros(n, c_in, h, sh, w, sw)
    z[:, :, :, 0, :, 0] = input
    z = z.reshape(n, c_in, h * sh, w * sw)[..., :(h - 1) * sh + 1, :(w - 1) * sw + 1]
    bh, bw = kh - 1 - ph, kw - 1 - pw
    z = F.pad(z, (bw, bw, bh, bh))
    cols = F.unfold(z, (kh, kw))                             # (N, C_in*kh*kw, L)
    kernel = weight.flip(-2, -1).transpose(0, 1).reshape(c_out, -1)
    return (kernel @ cols).reshape(n, c_out, z.shape[-2] - kh + 1, z.shape[-1] - kw + 1)


# conv_matrix ----------------------------------------------------------------------------------
@mutant(f"{A}.conv_matrix", "kernel flipped (the matrix of a true convolution)")
def conv_matrix_flipped(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    kf = k.flip(0, 1)
    matrix = k.new_zeros(out_h * out_w, h * w)
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    matrix[i * out_w + j, (i + a) * w + j + b] = kf[a, b]
    return matrix


@mutant(f"{A}.conv_matrix", "returns C.T, shape (H*W, H_out*W_out)")
def conv_matrix_transposed(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    matrix = k.new_zeros(h * w, out_h * out_w)
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    matrix[(i + a) * w + j + b, i * out_w + j] = k[a, b]
    return matrix


@mutant(f"{A}.conv_matrix", "input rows W_out apart instead of W")
def conv_matrix_row_stride(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    matrix = k.new_zeros(out_h * out_w, h * w)
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    matrix[i * out_w + j, (i + a) * out_w + j + b] = k[a, b]
    return matrix


@mutant(f"{A}.conv_matrix", "always float32")
def conv_matrix_float32(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    matrix = torch.zeros(out_h * out_w, h * w, device=k.device)
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    matrix[i * out_w + j, (i + a) * w + j + b] = k[a, b]
    return matrix


@alternate(f"{A}.conv_matrix", "tensor-unfold: correlate every basis image (columns of the identity)")
def conv_matrix_basis(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    basis = torch.eye(h * w, dtype=k.dtype, device=k.device).reshape(h * w, h, w)
    windows = basis.unfold(1, kh, 1).unfold(2, kw, 1)       # (H*W, H_out, W_out, kh, kw)
    return torch.einsum("pijab,ab->ijp", windows, k).reshape(-1, h * w)


@alternate(f"{A}.conv_matrix", "kron: sum of Kronecker products of shift and Toeplitz matrices")
def conv_matrix_kron(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    matrix = k.new_zeros(out_h * out_w, h * w)
    for a in range(kh):
        shift = torch.nn.functional.pad(torch.eye(out_h, dtype=k.dtype, device=k.device),
                                        (a, h - out_h - a))      # (out_h, H): ones at (i, i + a)
        row = k.new_zeros(out_w, w)
        for b in range(kw):
            row += torch.nn.functional.pad(k[a, b] * torch.eye(out_w, dtype=k.dtype, device=k.device),
                                           (b, w - out_w - b))
        matrix += torch.kron(shift, row)
    return matrix


# tf_same_conv_transpose2d ---------------------------------------------------------------------
@mutant(f"{A}.tf_same_conv_transpose2d", "symmetric crop with PyTorch's padding = pad // 2")
def tf_same_symmetric(x, w, stride):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = w.shape[-2:]
    return F.conv_transpose2d(x, w, stride=(sh, sw),
                              padding=(max(kh - sh, 0) // 2, max(kw - sw, 0) // 2),
                              output_padding=(max(sh - kh, 0), max(sw - kw, 0)))


@mutant(f"{A}.tf_same_conv_transpose2d", "the extra row of an odd pad cropped at the top")
def tf_same_extra_top(x, w, stride):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = w.shape[-2:]
    h, width = x.shape[-2:]
    full = F.conv_transpose2d(x, w, stride=(sh, sw),
                              output_padding=(max(sh - kh, 0), max(sw - kw, 0)))
    pad_h, pad_w = max(kh - sh, 0), max(kw - sw, 0)
    top, left = pad_h - pad_h // 2, pad_w - pad_w // 2
    return full[..., top:top + h * sh, left:left + width * sw]


@mutant(f"{A}.tf_same_conv_transpose2d", "k < s not extended with zeros")
def tf_same_no_extension(x, w, stride):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = w.shape[-2:]
    h, width = x.shape[-2:]
    full = F.conv_transpose2d(x, w, stride=(sh, sw))
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return full[..., top:top + h * sh, left:left + width * sw]


@mutant(f"{A}.tf_same_conv_transpose2d", "stride-1 'same' crop: k - 1 rows, not k - s")
def tf_same_k_minus_one(x, w, stride):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = w.shape[-2:]
    h, width = x.shape[-2:]
    full = F.conv_transpose2d(x, w, stride=(sh, sw), output_padding=(sh - 1, sw - 1))
    top, left = (kh - 1) // 2, (kw - 1) // 2
    return full[..., top:top + h * sh, left:left + width * sw]


@alternate(f"{A}.tf_same_conv_transpose2d", "pad: F.pad with negative (cropping) and positive amounts")
def tf_same_pad(x, w, stride):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = w.shape[-2:]
    h, width = x.shape[-2:]
    full = F.conv_transpose2d(x, w, stride=(sh, sw))
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    bottom = h * sh - (full.shape[-2] - top)
    right = width * sw - (full.shape[-1] - left)
    return F.pad(full, (-left, right, -top, bottom))


@alternate(f"{A}.tf_same_conv_transpose2d", "slices: stamping by hand into a (H*s + pad) canvas")
def tf_same_stamps(x, w, stride):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    n, c_in, h, width = x.shape
    _, c_out, kh, kw = w.shape
    canvas = x.new_zeros(n, c_out, max((h - 1) * sh + kh, h * sh), max((width - 1) * sw + kw, width * sw))
    for a in range(kh):
        for b in range(kw):
            canvas[..., a:a + (h - 1) * sh + 1:sh, b:b + (width - 1) * sw + 1:sw] += \
                torch.einsum("nchw,co->nohw", x, w[:, :, a, b])
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return canvas[..., top:top + h * sh, left:left + width * sw]


# overlap_count --------------------------------------------------------------------------------
@mutant(f"{A}.overlap_count", "1-D counts added instead of multiplied")
def overlap_count_sum(kernel_size, stride, n):
    count = torch.zeros((n - 1) * stride + kernel_size, dtype=torch.int64)
    for a in range(kernel_size):
        count[a:a + (n - 1) * stride + 1:stride] += 1
    return count[:, None] + count[None, :]


@mutant(f"{A}.overlap_count", "marks where the input pixels land, not how many taps")
def overlap_count_inputs(kernel_size, stride, n):
    count = torch.zeros((n - 1) * stride + kernel_size, dtype=torch.int64)
    count[:(n - 1) * stride + 1:stride] = 1
    return torch.outer(count, count)


@mutant(f"{A}.overlap_count", "output size n * stride + kernel_size - 1")
def overlap_count_size(kernel_size, stride, n):
    count = torch.zeros(n * stride + kernel_size - 1, dtype=torch.int64)
    for a in range(kernel_size):
        count[a:a + (n - 1) * stride + 1:stride] += 1
    return torch.outer(count, count)


@mutant(f"{A}.overlap_count", "returns float")
def overlap_count_float(kernel_size, stride, n):
    count = torch.zeros((n - 1) * stride + kernel_size)
    for a in range(kernel_size):
        count[a:a + (n - 1) * stride + 1:stride] += 1
    return torch.outer(count, count)


@alternate(f"{A}.overlap_count", "broadcast: count pairs (input, tap) with i*s + a == t by broadcasting")
def overlap_count_broadcast(kernel_size, stride, n):
    length = (n - 1) * stride + kernel_size
    hits = torch.arange(n)[:, None] * stride + torch.arange(kernel_size)[None, :]
    count = (hits.flatten()[None, :] == torch.arange(length)[:, None]).sum(1)
    return count[:, None] * count[None, :]


@alternate(f"{A}.overlap_count", "loops: stamp a block of ones per input pixel in 2-D")
def overlap_count_stamps(kernel_size, stride, n):
    length = (n - 1) * stride + kernel_size
    out = torch.zeros(length, length, dtype=torch.int64)
    for i in range(n):
        for j in range(n):
            out[i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size] += 1
    return out


# bilinear_kernel ------------------------------------------------------------------------------
@mutant(f"{A}.bilinear_kernel", "center = k / 2")
def bilinear_center_half(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float32) - kernel_size / 2).abs() / factor
    kernel = torch.zeros(channels, channels, kernel_size, kernel_size)
    for c in range(channels):
        kernel[c, c] = torch.outer(taps, taps)
    return kernel


@mutant(f"{A}.bilinear_kernel", "filter on every channel pair")
def bilinear_all_pairs(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / factor
    return torch.outer(taps, taps).expand(channels, channels, -1, -1).clone()


@mutant(f"{A}.bilinear_kernel", "1-D filters added instead of multiplied")
def bilinear_sum(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / factor
    kernel = torch.zeros(channels, channels, kernel_size, kernel_size)
    for c in range(channels):
        kernel[c, c] = taps[:, None] + taps[None, :]
    return kernel


@mutant(f"{A}.bilinear_kernel", "factor = k // 2")
def bilinear_factor_floor(channels, kernel_size):
    factor = max(kernel_size // 2, 1)
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / factor
    kernel = torch.zeros(channels, channels, kernel_size, kernel_size)
    for c in range(channels):
        kernel[c, c] = torch.outer(taps, taps)
    return kernel


@alternate(f"{A}.bilinear_kernel", "broadcast: FCN's ogrid formula, identity matrix times the filter")
def bilinear_ogrid(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    rows = torch.arange(kernel_size, dtype=torch.float32)[:, None]
    cols = torch.arange(kernel_size, dtype=torch.float32)[None, :]
    filt = (1 - (rows - center).abs() / factor) * (1 - (cols - center).abs() / factor)
    return torch.eye(channels)[:, :, None, None] * filt


@alternate(f"{A}.bilinear_kernel", "loops: plain loops over the taps")
def bilinear_loops(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    kernel = torch.zeros(channels, channels, kernel_size, kernel_size)
    for c in range(channels):
        for a in range(kernel_size):
            for b in range(kernel_size):
                kernel[c, c, a, b] = (1 - abs(a - center) / factor) * (1 - abs(b - center) / factor)
    return kernel


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.conv_transpose2d", "full output created on the CPU (no device=)")
def conv_transpose2d_cpu_output(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                                groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    c_out = c_out_g * groups
    x = input.reshape(n, groups, c_in // groups, h, w)
    filters = weight.reshape(groups, c_in // groups, c_out_g, kh, kw)
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    full = torch.zeros(n, groups, c_out_g, full_h, full_w, dtype=input.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            stamp = torch.einsum("ngchw,gco->ngohw", x, filters[:, :, :, a, b])
            full[:, :, :, a * dh:a * dh + (h - 1) * sh + 1:sh,
                 b * dw:b * dw + (w - 1) * sw + 1:sw] += stamp
    out_h, out_w = full_h - 2 * ph, full_w - 2 * pw
    out = full[..., ph:ph + out_h, pw:pw + out_w].reshape(n, c_out, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


@device_mutant(f"{A}.conv_transpose2d_via_conv", "zero-inserted input created on the CPU")
def conv_transpose2d_via_conv_cpu_spread(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    border_h, border_w = kh - 1 - ph, kw - 1 - pw
    size = (n, c_in, (h - 1) * sh + 1 + 2 * border_h, (w - 1) * sw + 1 + 2 * border_w)
    spread = torch.zeros(size, dtype=input.dtype)  # <- CPU tensor
    spread[:, :, border_h:border_h + (h - 1) * sh + 1:sh,
           border_w:border_w + (w - 1) * sw + 1:sw] = input
    kernel = weight.flip(-2, -1).transpose(0, 1)
    out_h, out_w = spread.shape[-2] - kh + 1, spread.shape[-1] - kw + 1
    out = input.new_zeros(n, kernel.shape[0], out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            out += torch.einsum("nchw,oc->nohw", spread[..., a:a + out_h, b:b + out_w],
                                kernel[:, :, a, b])
    return out


@device_mutant(f"{A}.conv_matrix", "matrix created on the CPU, indexed with device indices")
def conv_matrix_cpu_matrix(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    matrix = torch.zeros(out_h * out_w, h * w, dtype=k.dtype)  # <- CPU tensor
    i = torch.arange(out_h, device=k.device).repeat_interleave(out_w)
    j = torch.arange(out_w, device=k.device).repeat(out_h)
    rows = torch.arange(out_h * out_w, device=k.device)
    for a in range(kh):
        for b in range(kw):
            matrix[rows, (i + a) * w + (j + b)] = k[a, b]
    return matrix


@device_mutant(f"{A}.tf_same_conv_transpose2d", "cropped result copied into a CPU tensor")
def tf_same_conv_transpose2d_cpu_output(x, w, stride):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = w.shape[-2:]
    h, width = x.shape[-2:]
    full = F.conv_transpose2d(x, w, stride=(sh, sw),
                              output_padding=(max(sh - kh, 0), max(sw - kw, 0)))
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    out = torch.empty(*full.shape[:-2], h * sh, width * sw, dtype=x.dtype)  # <- CPU tensor
    out[...] = full[..., top:top + h * sh, left:left + width * sw]
    return out


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# conv_transpose2d
@alternate(f"{A}.conv_transpose2d", "scatter: index_add_ of every (tap, pixel) product, grouped")
def conv_transpose2d_index_add(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                               groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    products = torch.einsum("ngchw,gcoab->ngoabhw", input.unflatten(1, (groups, -1)),
                            weight.unflatten(0, (groups, -1))).flatten(1, 2)   # (N, C_out, ...)
    dev = input.device
    rows = (torch.arange(kh, device=dev) * dh).view(kh, 1, 1, 1) \
        + (torch.arange(h, device=dev) * sh).view(1, 1, h, 1)
    cols = (torch.arange(kw, device=dev) * dw).view(1, kw, 1, 1) \
        + (torch.arange(w, device=dev) * sw).view(1, 1, 1, w)
    full = input.new_zeros(n, products.shape[1], full_h * full_w)
    full.index_add_(2, (rows * full_w + cols).reshape(-1), products.flatten(2))
    full = full.reshape(n, -1, full_h, full_w)
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d", "fft: zero-inserted input times dilated-kernel spectra")
def conv_transpose2d_fft(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                         groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    size = ((h - 1) * sh + dh * (kh - 1) + 1 + oph, (w - 1) * sw + dw * (kw - 1) + 1 + opw)
    spread = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    spread[:, :, :(h - 1) * sh + 1:sh, :(w - 1) * sw + 1:sw] = input
    dilated = torch.zeros(c_in, c_out_g, dh * (kh - 1) + 1, dw * (kw - 1) + 1,
                          dtype=torch.float64, device=input.device)
    dilated[:, :, ::dh, ::dw] = weight
    images = torch.fft.rfft2(spread).unflatten(1, (groups, -1))
    filters = torch.fft.rfft2(dilated, s=size).unflatten(0, (groups, -1))
    full = torch.fft.irfft2(torch.einsum("ngchw,gcohw->ngohw", images, filters), s=size)
    out = full.flatten(1, 2)[:, :, ph:size[0] - ph, pw:size[1] - pw].to(input.dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d", "loops: stamp each input pixel's scaled kernels, one by one")
def conv_transpose2d_pixel_loops(input, weight, bias=None, stride=1, padding=0,
                                 output_padding=0, groups=1, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out_g, kh, kw = weight.shape
    c_in_g = c_in // groups
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    full = input.new_zeros(n, groups * c_out_g, full_h, full_w)
    for g in range(groups):
        x = input[:, g * c_in_g:(g + 1) * c_in_g]
        kernels = weight[g * c_in_g:(g + 1) * c_in_g]                   # (C_in_g, C_out_g, ...)
        target = full[:, g * c_out_g:(g + 1) * c_out_g]                 # a view: writes land
        for i in range(h):
            for j in range(w):
                stamp = torch.einsum("nc,coab->noab", x[:, :, i, j], kernels)
                target[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                       j * sw:j * sw + dw * (kw - 1) + 1:dw] += stamp
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# conv_transpose2d_via_conv
@alternate(f"{A}.conv_transpose2d_via_conv", "fft: zero insertion, then a linear convolution")
def via_conv_fft(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    size = ((h - 1) * sh + kh, (w - 1) * sw + kw)
    spread = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    spread[:, :, :(h - 1) * sh + 1:sh, :(w - 1) * sw + 1:sw] = input
    spectrum = torch.einsum("nchw,cohw->nohw", torch.fft.rfft2(spread),
                            torch.fft.rfft2(weight.double(), s=size))
    full = torch.fft.irfft2(spectrum, s=size)
    return full[:, :, ph:size[0] - ph, pw:size[1] - pw].to(input.dtype)


@alternate(f"{A}.conv_transpose2d_via_conv", "python-list: kernel flipped by index lists, taps")
def via_conv_lists(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    flipped = weight[:, :, list(range(kh - 1, -1, -1))][:, :, :, list(range(kw - 1, -1, -1))]
    bh, bw = kh - 1 - ph, kw - 1 - pw
    spread = input.new_zeros(n, c_in, (h - 1) * sh + 1 + 2 * bh, (w - 1) * sw + 1 + 2 * bw)
    spread[:, :, bh:bh + (h - 1) * sh + 1:sh, bw:bw + (w - 1) * sw + 1:sw] = input
    out_h, out_w = spread.shape[2] - kh + 1, spread.shape[3] - kw + 1
    out = input.new_zeros(n, weight.shape[1], out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            out += torch.einsum("nchw,co->nohw", spread[:, :, a:a + out_h, b:b + out_w],
                                flipped[:, :, a, b])
    return out


@alternate(f"{A}.conv_transpose2d_via_conv", "as_strided: windows of the spread input, tensordot")
def via_conv_as_strided(input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    bh, bw = kh - 1 - ph, kw - 1 - pw
    spread = input.new_zeros(n, c_in, (h - 1) * sh + 1 + 2 * bh, (w - 1) * sw + 1 + 2 * bw)
    spread[:, :, bh:bh + (h - 1) * sh + 1:sh, bw:bw + (w - 1) * sw + 1:sw] = input
    out_h, out_w = spread.shape[2] - kh + 1, spread.shape[3] - kw + 1
    s = spread.stride()
    windows = spread.as_strided((n, c_in, out_h, out_w, kh, kw),
                                (s[0], s[1], s[2], s[3], s[2], s[3]))
    out = torch.tensordot(windows, weight.flip(-2, -1), dims=([1, 4, 5], [0, 2, 3]))
    return out.permute(0, 3, 1, 2)


# conv_matrix
@alternate(f"{A}.conv_matrix", "scatter: one index_put_ of every (output, tap) entry")
def conv_matrix_index_put(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    dev = k.device
    i = torch.arange(out_h, device=dev).view(-1, 1, 1, 1)
    j = torch.arange(out_w, device=dev).view(1, -1, 1, 1)
    a = torch.arange(kh, device=dev).view(1, 1, -1, 1)
    b = torch.arange(kw, device=dev).view(1, 1, 1, -1)
    shape = (out_h, out_w, kh, kw)
    rows = (i * out_w + j).expand(shape).reshape(-1)
    cols = ((i + a) * w + j + b).expand(shape).reshape(-1)
    matrix = k.new_zeros(out_h * out_w, h * w)
    matrix.index_put_((rows, cols), k.expand(shape).reshape(-1))
    return matrix


@alternate(f"{A}.conv_matrix", "loops: every entry C[i*W_out + j, (i+a)*W + j+b] = k[a, b]")
def conv_matrix_loops(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    matrix = torch.zeros(out_h * out_w, h * w, dtype=k.dtype, device=k.device)
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    matrix[i * out_w + j, (i + a) * w + j + b] = k[a, b]
    return matrix


@alternate(f"{A}.conv_matrix", "where: C[r, p] = k[p_row - r_row, p_col - r_col] where in range")
def conv_matrix_where(k, input_shape):
    h, w = input_shape
    kh, kw = k.shape
    out_w = w - kw + 1
    out = torch.arange((h - kh + 1) * out_w, device=k.device)[:, None]
    pixel = torch.arange(h * w, device=k.device)[None, :]
    a = pixel // w - out // out_w                      # tap row that reaches the pixel
    b = pixel % w - out % out_w
    inside = (a >= 0) & (a < kh) & (b >= 0) & (b < kw)
    return torch.where(inside, k[a.clamp(0, kh - 1), b.clamp(0, kw - 1)], k.new_zeros(()))


# tf_same_conv_transpose2d
@alternate(f"{A}.tf_same_conv_transpose2d", "im2col: columns W^T x summed by F.fold, then cropped")
def tf_same_fold(x, w, stride):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    n, c_in, h, width = x.shape
    _, c_out, kh, kw = w.shape
    columns = w.reshape(c_in, -1).T @ x.reshape(n, c_in, h * width)   # (N, C_out*kh*kw, L)
    full_h, full_w = (h - 1) * sh + kh, (width - 1) * sw + kw
    full = F.fold(columns, (full_h, full_w), (kh, kw), stride=(sh, sw))
    canvas = x.new_zeros(n, c_out, max(full_h, h * sh), max(full_w, width * sw))
    canvas[:, :, :full_h, :full_w] = full                 # k < s: zero rows at the bottom
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return canvas[:, :, top:top + h * sh, left:left + width * sw]


@alternate(f"{A}.tf_same_conv_transpose2d", "fft: spread input, kernel spectra, crop TF's way")
def tf_same_fft(x, w, stride):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    n, c_in, h, width = x.shape
    kh, kw = w.shape[-2:]
    size = (max((h - 1) * sh + kh, h * sh), max((width - 1) * sw + kw, width * sw))
    spread = torch.zeros(n, c_in, *size, dtype=torch.float64, device=x.device)
    spread[:, :, :(h - 1) * sh + 1:sh, :(width - 1) * sw + 1:sw] = x
    spectrum = torch.einsum("nchw,cohw->nohw", torch.fft.rfft2(spread),
                            torch.fft.rfft2(w.double(), s=size))
    full = torch.fft.irfft2(spectrum, s=size)             # the full result fits: no wrap
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return full[:, :, top:top + h * sh, left:left + width * sw].to(x.dtype)


@alternate(f"{A}.tf_same_conv_transpose2d", "scatter: index_add_ into a flat canvas, then crop")
def tf_same_index_add(x, w, stride):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    n, c_in, h, width = x.shape
    _, c_out, kh, kw = w.shape
    canvas_h, canvas_w = max((h - 1) * sh + kh, h * sh), max((width - 1) * sw + kw, width * sw)
    products = torch.einsum("nchw,coab->noabhw", x, w)
    dev = x.device
    rows = torch.arange(kh, device=dev).view(kh, 1, 1, 1) \
        + (torch.arange(h, device=dev) * sh).view(1, 1, h, 1)
    cols = torch.arange(kw, device=dev).view(1, kw, 1, 1) \
        + (torch.arange(width, device=dev) * sw).view(1, 1, 1, width)
    canvas = x.new_zeros(n, c_out, canvas_h * canvas_w)
    canvas.index_add_(2, (rows * canvas_w + cols).reshape(-1), products.flatten(2))
    canvas = canvas.reshape(n, c_out, canvas_h, canvas_w)
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return canvas[:, :, top:top + h * sh, left:left + width * sw]


# overlap_count
@alternate(f"{A}.overlap_count", "math: per position, floor(t/s) - ceil((t-k+1)/s) + 1 inputs")
def overlap_count_formula(kernel_size, stride, n):
    import math
    length = (n - 1) * stride + kernel_size
    counts = [max(0, min(n - 1, t // stride)
                  - max(0, math.ceil((t - kernel_size + 1) / stride)) + 1)
              for t in range(length)]
    count = torch.tensor(counts, dtype=torch.int64)
    return torch.outer(count, count)


@alternate(f"{A}.overlap_count", "scatter: index_add_ a one per (input, tap), outer product")
def overlap_count_index_add(kernel_size, stride, n):
    length = (n - 1) * stride + kernel_size
    hits = (torch.arange(n)[:, None] * stride + torch.arange(kernel_size)[None, :]).reshape(-1)
    count = torch.zeros(length, dtype=torch.int64).index_add_(0, hits, torch.ones_like(hits))
    return count[:, None] * count[None, :]


@alternate(f"{A}.overlap_count", "fft: input positions * a box of k ones by rfft, rounded")
def overlap_count_fft(kernel_size, stride, n):
    length = (n - 1) * stride + kernel_size
    starts = torch.zeros(length, dtype=torch.float64)
    starts[:(n - 1) * stride + 1:stride] = 1
    box = torch.ones(kernel_size, dtype=torch.float64)
    spectrum = torch.fft.rfft(starts, n=length) * torch.fft.rfft(box, n=length)
    count = torch.fft.irfft(spectrum, n=length).round().to(torch.int64)
    return torch.outer(count, count)


@alternate(f"{A}.overlap_count", "matmul: coverage matrix M (L, n), M @ ones(n, n) @ M^T")
def overlap_count_matrix(kernel_size, stride, n):
    length = (n - 1) * stride + kernel_size
    t = torch.arange(length)[:, None]
    start = torch.arange(n)[None, :] * stride
    covers = ((t >= start) & (t < start + kernel_size)).to(torch.int64)
    return covers @ torch.ones(n, n, dtype=torch.int64) @ covers.T


# bilinear_kernel
@alternate(f"{A}.bilinear_kernel", "einsum: identity (C, C) x taps x taps in float64, cast")
def bilinear_einsum(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float64) - center).abs() / factor
    eye = torch.eye(channels, dtype=torch.float64)
    return torch.einsum("cd,a,b->cdab", eye, taps, taps).to(torch.float32)


@alternate(f"{A}.bilinear_kernel", "index: the filter written at kernel[arange(C), arange(C)]")
def bilinear_diagonal_index(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = [1 - abs(a - center) / factor for a in range(kernel_size)]
    filt = torch.tensor([[p * q for q in taps] for p in taps], dtype=torch.float32)
    kernel = torch.zeros(channels, channels, kernel_size, kernel_size)
    diagonal = torch.arange(channels)
    kernel[diagonal, diagonal] = filt
    return kernel


@alternate(f"{A}.bilinear_kernel", "kron: torch.kron(eye(C), filter), axes regrouped")
def bilinear_kron(channels, kernel_size):
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / factor
    blocks = torch.kron(torch.eye(channels), torch.outer(taps, taps))    # (C*k, C*k)
    return blocks.reshape(channels, kernel_size, channels, kernel_size).permute(0, 2, 1, 3)
