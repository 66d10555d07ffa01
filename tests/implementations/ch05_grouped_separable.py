"""Mutants and alternates for assignment 05_grouped_separable."""
import torch

from . import alternate, device_mutant, mutant

A = "05_grouped_separable"


# conv2d with groups ---------------------------------------------------------------------------
@mutant(f"{A}.conv2d", "groups ignored: every filter reads the first C_in/g channels")
def conv2d_groups_ignored(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    kh, kw = weight.shape[2:]
    x = F.pad(input[:, :weight.shape[1]], (pw, pw, ph, ph))
    win = x.unfold(2, dh * (kh - 1) + 1, sh).unfold(3, dw * (kw - 1) + 1, sw)[..., ::dh, ::dw]
    out = torch.einsum("nchwab,ocab->nohw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv2d", "output channels assigned to groups round-robin")
def conv2d_round_robin(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in = input.shape[:2]
    c_out, c_g, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph)).reshape(n, groups, c_g, input.shape[2] + 2 * ph, -1)
    win = x.unfold(3, dh * (kh - 1) + 1, sh).unfold(4, dw * (kw - 1) + 1, sw)[..., ::dh, ::dw]
    filters = weight.reshape(c_out // groups, groups, c_g, kh, kw).transpose(0, 1)
    out = torch.einsum("ngchwab,gocab->ngohw", win, filters).reshape(n, c_out, *win.shape[3:5])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv2d", "dilation ignored")
def conv2d_grouped_no_dilation(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n = input.shape[0]
    c_out, c_g, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph))
    x = x.reshape(n, groups, c_g, x.shape[2], x.shape[3])
    win = x.unfold(3, kh, sh).unfold(4, kw, sw)
    filters = weight.reshape(groups, c_out // groups, c_g, kh, kw)
    out = torch.einsum("ngchwab,gocab->ngohw", win, filters).reshape(n, c_out, *win.shape[3:5])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "im2col: one im2col matmul per group, concatenated")
def conv2d_per_group(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    import torch.nn.functional as F
    n, c_in, h, w = input.shape
    c_out, c_g, kh, kw = weight.shape
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    outs = []
    per_group = c_out // groups
    for g in range(groups):
        cols = F.unfold(input[:, g * c_g:(g + 1) * c_g], (kh, kw), dilation=(dh, dw),
                        padding=(ph, pw), stride=(sh, sw))
        outs.append(weight[g * per_group:(g + 1) * per_group].reshape(per_group, -1) @ cols)
    out = torch.cat(outs, dim=1).reshape(n, c_out, oh, ow)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "tensor-unfold: a dense block-diagonal weight, then an ungrouped convolution")
def conv2d_block_diagonal(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    c_in = input.shape[1]
    c_out, c_g, kh, kw = weight.shape
    dense = weight.new_zeros(c_out, c_in, kh, kw)
    per_group = c_out // groups
    for g in range(groups):
        dense[g * per_group:(g + 1) * per_group, g * c_g:(g + 1) * c_g] = \
            weight[g * per_group:(g + 1) * per_group]
    win = F.pad(input, (pw, pw, ph, ph))
    win = win.unfold(2, dh * (kh - 1) + 1, sh).unfold(3, dw * (kw - 1) + 1, sw)[..., ::dh, ::dw]
    out = torch.einsum("nchwab,ocab->nohw", win, dense)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# depthwise_separable --------------------------------------------------------------------------
@mutant(f"{A}.depthwise_separable", "depthwise step mixes channels (groups=1)")
def depthwise_separable_dense(input, depthwise_weight, pointwise_weight):
    c_in = input.shape[1]
    m = depthwise_weight.shape[0] // c_in
    kh, kw = depthwise_weight.shape[2:]
    win = input.unfold(2, kh, 1).unfold(3, kw, 1)                      # (N, C, H', W', kh, kw)
    summed = win.sum(1, keepdim=True).expand(-1, c_in, -1, -1, -1, -1)
    dw = torch.einsum("nchwab,cmab->ncmhw", summed,
                      depthwise_weight.reshape(c_in, m, kh, kw)).flatten(1, 2)
    return torch.einsum("nchw,oc->nohw", dw, pointwise_weight[:, :, 0, 0])


@mutant(f"{A}.depthwise_separable", "pointwise before depthwise")
def depthwise_separable_swapped(input, depthwise_weight, pointwise_weight):
    c_in = input.shape[1]
    m = depthwise_weight.shape[0] // c_in
    kh, kw = depthwise_weight.shape[2:]
    mixed = torch.einsum("nchw,oc->nohw", input.repeat_interleave(m, dim=1),
                         pointwise_weight[:, :, 0, 0])
    win = mixed.unfold(2, kh, 1).unfold(3, kw, 1)
    return torch.einsum("nohwab,ab->nohw", win, depthwise_weight[0, 0])


@mutant(f"{A}.depthwise_separable", "depth multiplier channels ordered (m, C_in) instead of (C_in, m)")
def depthwise_separable_wrong_order(input, depthwise_weight, pointwise_weight):
    c_in = input.shape[1]
    m = depthwise_weight.shape[0] // c_in
    kh, kw = depthwise_weight.shape[2:]
    win = input.unfold(2, kh, 1).unfold(3, kw, 1)
    dw = torch.einsum("nchwab,cmab->nmchw", win, depthwise_weight.reshape(c_in, m, kh, kw))
    return torch.einsum("nchw,oc->nohw", dw.flatten(1, 2), pointwise_weight[:, :, 0, 0])


@alternate(f"{A}.depthwise_separable", "tensor-unfold: views + two einsums")
def depthwise_separable_views(input, depthwise_weight, pointwise_weight):
    c_in = input.shape[1]
    m = depthwise_weight.shape[0] // c_in
    kh, kw = depthwise_weight.shape[2:]
    win = input.unfold(2, kh, 1).unfold(3, kw, 1)                       # (N, C, H', W', kh, kw)
    dw = torch.einsum("nchwab,cmab->ncmhw", win, depthwise_weight.reshape(c_in, m, kh, kw))
    return torch.einsum("nchw,oc->nohw", dw.flatten(1, 2), pointwise_weight[:, :, 0, 0])


@alternate(f"{A}.depthwise_separable", "einsum: fold both steps into one dense kernel")
def depthwise_separable_fused(input, depthwise_weight, pointwise_weight):
    c_in = input.shape[1]
    m = depthwise_weight.shape[0] // c_in
    kh, kw = depthwise_weight.shape[2:]
    fused = torch.einsum("ocm,cmab->ocab", pointwise_weight[:, :, 0, 0].reshape(-1, c_in, m),
                         depthwise_weight.reshape(c_in, m, kh, kw))
    win = input.unfold(2, kh, 1).unfold(3, kw, 1)
    return torch.einsum("nchwab,ocab->nohw", win, fused)


# channel_shuffle ------------------------------------------------------------------------------
@mutant(f"{A}.channel_shuffle", "reshape without the transpose (identity)")
def channel_shuffle_identity(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).reshape(n, c, h, w).clone()


@mutant(f"{A}.channel_shuffle", "groups and group size swapped")
def channel_shuffle_swapped(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, c // groups, groups, h, w).transpose(1, 2).reshape(n, c, h, w)


@mutant(f"{A}.channel_shuffle", "channels reversed")
def channel_shuffle_reversed(x, groups):
    return torch.flip(x, (1,))


@alternate(f"{A}.channel_shuffle", "index: index_select with a computed permutation")
def channel_shuffle_index(x, groups):
    c = x.shape[1]
    per_group = c // groups
    order = torch.arange(c, device=x.device).reshape(groups, per_group).T.reshape(-1)
    return x.index_select(1, order)


@alternate(f"{A}.channel_shuffle", "stack-cat: stack every group's i-th channel")
def channel_shuffle_stack(x, groups):
    per_group = x.shape[1] // groups
    chunks = x.split(per_group, dim=1)
    return torch.stack([chunks[j][:, i] for i in range(per_group) for j in range(groups)], dim=1)


# separate_kernel ------------------------------------------------------------------------------
@mutant(f"{A}.separate_kernel", "first column and first row (breaks when k[0, 0] is wrong scale)")
def separate_kernel_first(k):
    if torch.linalg.matrix_rank(k.double()) > 1:
        raise ValueError("not separable")
    return k[:, 0].clone(), k[0].clone()


@mutant(f"{A}.separate_kernel", "never raises (returns the best rank-1 approximation)")
def separate_kernel_no_check(k):
    u, s, vh = torch.linalg.svd(k)
    return u[:, 0] * s[0].sqrt(), vh[0] * s[0].sqrt()


@mutant(f"{A}.separate_kernel", "returns (row, column)")
def separate_kernel_swapped(k):
    u, s, vh = torch.linalg.svd(k)
    if s.numel() > 1 and s[1] > 1e-6 * s[0]:
        raise ValueError("not separable")
    return vh[0] * s[0].sqrt(), u[:, 0] * s[0].sqrt()


@alternate(f"{A}.separate_kernel", "pivot: largest entry as pivot: column = k[:, j], row = k[i] / k[i, j]")
def separate_kernel_pivot(k):
    index = int(torch.argmax(k.abs()))
    i, j = divmod(index, k.shape[1])
    column, row = k[:, j].clone(), k[i] / k[i, j] if k[i, j] != 0 else torch.zeros_like(k[i])
    residual = (torch.outer(column, row) - k).abs().max()
    if residual > 1e-5 * max(k.abs().max().item(), 1e-30):
        raise ValueError(f"k is not separable (rank-1 residual {residual.item():.3g})")
    return column, row


@alternate(f"{A}.separate_kernel", "iteration: power iteration for the top singular pair")
def separate_kernel_power(k):
    if k.norm() == 0:
        return torch.zeros_like(k[:, 0]), torch.zeros_like(k[0])
    v = k[k.norm(dim=1).argmax()].clone()       # start from the largest row
    for _ in range(100):
        u = k @ v
        u = u / u.norm()
        v = k.T @ u
    column, row = u, v
    residual = (torch.outer(column, row) - k).norm() / k.norm()
    if residual > 1e-3:
        raise ValueError(f"k is not separable: rank-1 residual {residual.item():.3g}")
    return column, row


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.conv2d", "grouped output created on the CPU (torch.zeros without device=)")
def conv2d_cpu_output(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out, c_group, kh, kw = weight.shape
    padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    grouped = padded.reshape(n, groups, c_group, h + 2 * ph, w + 2 * pw)
    filters = weight.reshape(groups, c_out // groups, c_group, kh, kw)
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = torch.zeros(n, groups, c_out // groups, out_h, out_w, dtype=input.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            window = grouped[..., a * dh:a * dh + sh * (out_h - 1) + 1:sh,
                             b * dw:b * dw + sw * (out_w - 1) + 1:sw]
            out += torch.einsum("ngchw,goc->ngohw", window, filters[..., a, b])
    out = out.reshape(n, c_out, out_h, out_w)
    if bias is not None:
        out += bias.view(1, c_out, 1, 1)
    return out


@device_mutant(f"{A}.depthwise_separable", "depthwise output created on the CPU")
def depthwise_separable_cpu_output(input, depthwise_weight, pointwise_weight):
    n, c_in, h, w = input.shape
    channels, _, kh, kw = depthwise_weight.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    grouped = input.repeat_interleave(channels // c_in, dim=1)      # input channel of each filter
    depthwise = torch.zeros(n, channels, out_h, out_w, dtype=input.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            tap = depthwise_weight[:, 0, a, b].view(1, -1, 1, 1)
            depthwise += grouped[:, :, a:a + out_h, b:b + out_w] * tap
    return torch.einsum("nchw,oc->nohw", depthwise, pointwise_weight[:, :, 0, 0])


@device_mutant(f"{A}.channel_shuffle", "result copied into a tensor created on the CPU")
def channel_shuffle_cpu_output(x, groups):
    n, c, h, w = x.shape
    out = torch.empty(n, c, h, w, dtype=x.dtype)  # <- CPU tensor
    out.copy_(x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w))
    return out


@device_mutant(f"{A}.separate_kernel", "column copied into a tensor created on the CPU")
def separate_kernel_cpu_column(k):
    u, s, vh = torch.linalg.svd(k)
    if s.numel() > 1 and s[1] > 1e-6 * s[0]:
        raise ValueError(f"k is not separable: its singular values {s.tolist()} show rank > 1")
    scale = s[0].sqrt()
    column = torch.empty(k.shape[0], dtype=k.dtype)  # <- CPU tensor
    column[:] = u[:, 0] * scale
    return column, vh[0] * scale


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# conv2d with groups
@alternate(f"{A}.conv2d", "fft: grouped spectra, conjugate dilated filters, a complex einsum")
def conv2d_fft(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out, c_group, kh, kw = weight.shape
    size = (h + 2 * ph, w + 2 * pw)
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    padded = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    dilated = torch.zeros(c_out, c_group, span_h, span_w, dtype=torch.float64,
                          device=input.device)
    dilated[:, :, ::dh, ::dw] = weight
    images = torch.fft.rfft2(padded).unflatten(1, (groups, c_group))          # (N, G, Cg, ...)
    filters = torch.fft.rfft2(dilated, s=size).conj().unflatten(0, (groups, -1))  # (G, Og, Cg,.)
    full = torch.fft.irfft2(torch.einsum("ngchw,gochw->ngohw", images, filters), s=size)
    out = full.flatten(1, 2)[:, :, :size[0] - span_h + 1:sh, :size[1] - span_w + 1:sw]
    out = out.to(input.dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "as_strided: (N, G, Cg, H', W', kh, kw) windows, a grouped einsum")
def conv2d_as_strided(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out, c_group, kh, kw = weight.shape
    padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    s = padded.stride()
    windows = padded.as_strided(
        (n, groups, c_group, out_h, out_w, kh, kw),
        (s[0], c_group * s[1], s[1], sh * s[2], sw * s[3], dh * s[2], dw * s[3]))
    filters = weight.reshape(groups, c_out // groups, c_group, kh, kw)
    out = torch.einsum("ngchwab,gocab->ngohw", windows, filters).reshape(n, c_out, out_h, out_w)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "python-list: each group's channels picked by a Python list, views")
def conv2d_lists(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    c_out, c_group, kh, kw = weight.shape
    per_group = c_out // groups
    x = F.pad(input, (pw, pw, ph, ph))
    outs = []
    for g in range(groups):
        channels = [g * c_group + c for c in range(c_group)]
        filters = [g * per_group + o for o in range(per_group)]
        win = x[:, channels].unfold(2, dh * (kh - 1) + 1, sh).unfold(3, dw * (kw - 1) + 1, sw)
        outs.append(torch.einsum("nchwab,ocab->nohw", win[..., ::dh, ::dw], weight[filters]))
    out = torch.cat(outs, dim=1)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# depthwise_separable
@alternate(f"{A}.depthwise_separable", "fft: per-channel spectra (conjugate filters), float64")
def depthwise_separable_fft(input, depthwise_weight, pointwise_weight):
    _, c_in, h, w = input.shape
    kh, kw = depthwise_weight.shape[-2:]
    m = depthwise_weight.shape[0] // c_in
    size = (h, w)
    images = torch.fft.rfft2(input.double()).repeat_interleave(m, dim=1)       # (N, C*m, ...)
    filters = torch.fft.rfft2(depthwise_weight[:, 0].double(), s=size).conj()  # (C*m, ...)
    depthwise = torch.fft.irfft2(images * filters, s=size)[:, :, :h - kh + 1, :w - kw + 1]
    out = torch.einsum("nchw,oc->nohw", depthwise, pointwise_weight[:, :, 0, 0].double())
    return out.to(input.dtype)


@alternate(f"{A}.depthwise_separable", "python-list: input channels repeated by an index list")
def depthwise_separable_lists(input, depthwise_weight, pointwise_weight):
    _, c_in, h, w = input.shape
    kh, kw = depthwise_weight.shape[-2:]
    m = depthwise_weight.shape[0] // c_in
    repeated = input[:, [c for c in range(c_in) for _ in range(m)]]    # channel j reads j // m
    out_h, out_w = h - kh + 1, w - kw + 1
    depthwise = input.new_zeros(input.shape[0], c_in * m, out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            depthwise += (repeated[:, :, a:a + out_h, b:b + out_w]
                          * depthwise_weight[:, 0, a, b].view(1, -1, 1, 1))
    channels_last = depthwise.permute(0, 2, 3, 1) @ pointwise_weight[:, :, 0, 0].T
    return channels_last.permute(0, 3, 1, 2)


@alternate(f"{A}.depthwise_separable", "as_strided: depthwise windows by as_strided, two einsums")
def depthwise_separable_as_strided(input, depthwise_weight, pointwise_weight):
    n, c_in, h, w = input.shape
    kh, kw = depthwise_weight.shape[-2:]
    m = depthwise_weight.shape[0] // c_in
    x = input.contiguous()
    s = x.stride()
    windows = x.as_strided((n, c_in, h - kh + 1, w - kw + 1, kh, kw),
                           (s[0], s[1], s[2], s[3], s[2], s[3]))
    depthwise = torch.einsum("nchwab,cmab->ncmhw", windows,
                             depthwise_weight.reshape(c_in, m, kh, kw)).flatten(1, 2)
    return torch.einsum("nchw,oc->nohw", depthwise, pointwise_weight.flatten(1))


# channel_shuffle
@alternate(f"{A}.channel_shuffle", "python-list: x[:, order] with the order as a Python list")
def channel_shuffle_lists(x, groups):
    per_group = x.shape[1] // groups
    return x[:, [g * per_group + i for i in range(per_group) for g in range(groups)]]


@alternate(f"{A}.channel_shuffle", "scatter: index_copy_ sends channel g*n + i to i*groups + g")
def channel_shuffle_index_copy(x, groups):
    per_group = x.shape[1] // groups
    source_group = torch.arange(groups, device=x.device)[:, None]
    source_index = torch.arange(per_group, device=x.device)[None, :]
    destination = (source_index * groups + source_group).reshape(-1)    # for channel g*n + i
    return torch.empty_like(x).index_copy_(1, destination, x)


@alternate(f"{A}.channel_shuffle", "matmul: a 0/1 permutation matrix applied with einsum")
def channel_shuffle_permutation_matrix(x, groups):
    c = x.shape[1]
    per_group = c // groups
    order = torch.arange(c, device=x.device).reshape(groups, per_group).T.reshape(-1)
    permutation = (order[:, None] == torch.arange(c, device=x.device)[None, :]).to(x.dtype)
    return torch.einsum("jc,nchw->njhw", permutation, x)


# separate_kernel
@alternate(f"{A}.separate_kernel", "float64: SVD of k in float64, the top pair cast back")
def separate_kernel_svd_float64(k):
    u, s, vh = torch.linalg.svd(k.double())
    if s.numel() > 1 and s[1] > 1e-6 * s[0]:
        raise ValueError(f"k is not separable: singular values {s.tolist()}")
    return (u[:, 0] * s[0]).to(k.dtype), vh[0].to(k.dtype)


@alternate(f"{A}.separate_kernel", "broadcast: every 2x2 minor must vanish; row by least squares")
def separate_kernel_minors(k):
    m = k.double()
    # minors[i, l, j, q] = k[i, j] k[l, q] - k[i, q] k[l, j]: all zero exactly when rank <= 1
    minors = m[:, None, :, None] * m[None, :, None, :] - m[:, None, None, :] * m[None, :, :, None]
    if minors.abs().max() > 1e-5 * m.abs().max() ** 2:
        raise ValueError("k has a non-zero 2x2 minor, so its rank is above 1")
    column = m[:, int(m.norm(dim=0).argmax())]        # the largest column
    energy = column @ column
    row = (column @ m) / energy if energy > 0 else torch.zeros_like(m[0])
    return column.to(k.dtype), row.to(k.dtype)
