"""Mutants and alternates for assignment 03_conv3d."""
import torch

from autograder import provided

from . import alternate, device_mutant, mutant

A = "03_conv3d"


@mutant(f"{A}.conv3d", "depth stride ignored")
def conv3d_no_depth_stride(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph, pd, pd))
    kd, kh, kw = weight.shape[2:]
    win = x.unfold(2, kd, 1).unfold(3, kh, sh).unfold(4, kw, sw)
    out = torch.einsum("ncdhwxyz,ocxyz->nodhw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@mutant(f"{A}.conv3d", "no padding along depth")
def conv3d_no_depth_padding(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph))
    kd, kh, kw = weight.shape[2:]
    win = x.unfold(2, kd, sd).unfold(3, kh, sh).unfold(4, kw, sw)
    out = torch.einsum("ncdhwxyz,ocxyz->nodhw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@mutant(f"{A}.conv3d", "kernel flipped along depth")
def conv3d_depth_flipped(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph, pd, pd))
    kd, kh, kw = weight.shape[2:]
    win = x.unfold(2, kd, sd).unfold(3, kh, sh).unfold(4, kw, sw)
    out = torch.einsum("ncdhwxyz,ocxyz->nodhw", win, torch.flip(weight, (2,)))
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@mutant(f"{A}.conv3d", "bias ignored")
def conv3d_no_bias(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph, pd, pd))
    kd, kh, kw = weight.shape[2:]
    win = x.unfold(2, kd, sd).unfold(3, kh, sh).unfold(4, kw, sw)
    return torch.einsum("ncdhwxyz,ocxyz->nodhw", win, weight)


@alternate(f"{A}.conv3d", "tensor-unfold: strided views on three axes + one einsum")
def conv3d_views(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    x = F.pad(input, (pw, pw, ph, ph, pd, pd))
    kd, kh, kw = weight.shape[2:]
    win = x.unfold(2, kd, sd).unfold(3, kh, sh).unfold(4, kw, sw)
    out = torch.einsum("ncdhwxyz,ocxyz->nodhw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@alternate(f"{A}.conv3d", "im2col: a sum of 2-D convolutions over depth taps (im2col per slice)")
def conv3d_slices(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    n, c_in, d, h, w = input.shape
    c_out, _, kd, kh, kw = weight.shape
    x = F.pad(input, (0, 0, 0, 0, pd, pd))
    od = (d + 2 * pd - kd) // sd + 1
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = input.new_zeros(n, c_out, od, oh, ow)
    for i in range(od):
        for a in range(kd):
            plane = x[:, :, i * sd + a]                                   # (N, C_in, H, W)
            cols = F.unfold(plane, (kh, kw), padding=(ph, pw), stride=(sh, sw))
            out[:, :, i] += (weight[:, :, a].reshape(c_out, -1) @ cols).reshape(n, c_out, oh, ow)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@mutant(f"{A}.conv2d_via_conv3d", "depth-1 axis not removed (5-D result)")
def conv2d_via_conv3d_5d(input, weight, bias=None):
    win = input.unsqueeze(1).unfold(3, weight.shape[2], 1).unfold(4, weight.shape[3], 1)
    out = torch.einsum("nzchwab,ocab->nozhw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@mutant(f"{A}.conv2d_via_conv3d", "bias ignored")
def conv2d_via_conv3d_no_bias(input, weight, bias=None):
    win = input.unfold(2, weight.shape[2], 1).unfold(3, weight.shape[3], 1)
    return torch.einsum("nchwab,ocab->nohw", win, weight)


@mutant(f"{A}.conv2d_via_conv3d", "kernel depth reversed (channels matched backwards)")
def conv2d_via_conv3d_reversed(input, weight, bias=None):
    win = input.unfold(2, weight.shape[2], 1).unfold(3, weight.shape[3], 1)
    out = torch.einsum("nchwab,ocab->nohw", win, torch.flip(weight, (1,)))
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d_via_conv3d", "tensor-unfold: through a self-contained conv3d on a one-channel volume")
def conv2d_via_conv3d_own(input, weight, bias=None):
    volume = input.unsqueeze(1)                        # (N, 1, C, H, W)
    kernel = weight.unsqueeze(1)                       # (C_out, 1, C, kh, kw)
    win = volume.unfold(2, kernel.shape[2], 1).unfold(3, kernel.shape[3], 1)
    win = win.unfold(4, kernel.shape[4], 1)            # (N, 1, 1, H', W', C, kh, kw)
    out = torch.einsum("nidhwxyz,oixyz->nodhw", win, kernel)[:, :, 0]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d_via_conv3d", "im2col: a 2-D im2col, no 3-D view at all")
def conv2d_via_conv3d_im2col(input, weight, bias=None):
    import torch.nn.functional as F
    n, _, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    out = weight.reshape(c_out, -1) @ F.unfold(input, (kh, kw))
    out = out.reshape(n, c_out, h - kh + 1, w - kw + 1)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.conv3d", "output created on the CPU (torch.zeros without device=)")
def conv3d_cpu_output(input, weight, bias=None, stride=1, padding=0):
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    n, c_in, d, h, w = input.shape
    c_out, _, kd, kh, kw = weight.shape
    padded = input.new_zeros(n, c_in, d + 2 * pd, h + 2 * ph, w + 2 * pw)
    padded[:, :, pd:pd + d, ph:ph + h, pw:pw + w] = input
    od, oh, ow = ((d + 2 * pd - kd) // sd + 1, (h + 2 * ph - kh) // sh + 1,
                  (w + 2 * pw - kw) // sw + 1)
    out = torch.zeros(n, c_out, od, oh, ow, dtype=input.dtype)  # <- CPU tensor
    for a in range(kd):
        for b in range(kh):
            for e in range(kw):
                window = padded[:, :, a:a + sd * (od - 1) + 1:sd,
                                b:b + sh * (oh - 1) + 1:sh, e:e + sw * (ow - 1) + 1:sw]
                out += torch.einsum("ncdhw,oc->nodhw", window, weight[:, :, a, b, e])
    if bias is not None:
        out += bias.view(1, c_out, 1, 1, 1)
    return out


@device_mutant(f"{A}.conv2d_via_conv3d", "output volume created on the CPU")
def conv2d_via_conv3d_cpu_output(input, weight, bias=None):
    volume, kernel = input.unsqueeze(1), weight.unsqueeze(1)
    n, _, d, h, w = volume.shape
    c_out, _, kd, kh, kw = kernel.shape
    size = (n, c_out, d - kd + 1, h - kh + 1, w - kw + 1)
    out = torch.zeros(size, dtype=input.dtype)  # <- CPU tensor
    for a in range(kd):
        for b in range(kh):
            for e in range(kw):
                window = volume[:, :, a:a + out.shape[2], b:b + out.shape[3], e:e + out.shape[4]]
                out += torch.einsum("ncdhw,oc->nodhw", window, kernel[:, :, a, b, e])
    if bias is not None:
        out += bias.view(1, c_out, 1, 1, 1)
    return out.squeeze(2)


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

@alternate(f"{A}.conv2d_via_conv3d", "provided: provided.conv3d on depth-1 volumes (N, C, 1, H, W)")
def conv2d_via_conv3d_depth_one(input, weight, bias=None):
    return provided.conv3d(input.unsqueeze(2), weight.unsqueeze(2), bias).squeeze(2)


@alternate(f"{A}.conv2d_via_conv3d", "fft: rfftn over (C, H, W), conjugate product, depth slice 0")
def conv2d_via_conv3d_fft(input, weight, bias=None):
    _, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    size = (c_in, h, w)                                   # channels as the depth axis
    volume = torch.fft.rfftn(input.double(), dim=(1, 2, 3))                 # (N, C, H, W')
    kernel = torch.fft.rfftn(weight.double(), s=size, dim=(1, 2, 3))        # (C_out, C, H, W')
    full = torch.fft.irfftn(volume[:, None] * kernel.conj()[None], s=size, dim=(2, 3, 4))
    out = full[:, :, 0, :h - kh + 1, :w - kw + 1].to(input.dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d_via_conv3d", "slices: a 3-D correlation by hand, a slice per (d, h, w) tap")
def conv2d_via_conv3d_taps(input, weight, bias=None):
    volume, kernel = input.unsqueeze(1), weight.unsqueeze(1)    # (N, 1, C, H, W), (O, 1, C, .)
    kd, kh, kw = kernel.shape[2:]
    od, oh, ow = (volume.shape[2] - kd + 1, volume.shape[3] - kh + 1, volume.shape[4] - kw + 1)
    out = input.new_zeros(input.shape[0], weight.shape[0], od, oh, ow)
    for a in range(kd):
        for b in range(kh):
            for e in range(kw):
                out += torch.einsum("nidhw,oi->nodhw", volume[:, :, a:a + od, b:b + oh, e:e + ow],
                                    kernel[:, :, a, b, e])
    out = out[:, :, 0]                                          # depth 1: C - C + 1
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv3d", "fft: rfftn of the padded volumes, conjugate filter spectra, float64")
def conv3d_fft(input, weight, bias=None, stride=1, padding=0):
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    n, c_in, d, h, w = input.shape
    kd, kh, kw = weight.shape[2:]
    size = (d + 2 * pd, h + 2 * ph, w + 2 * pw)
    padded = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    padded[:, :, pd:pd + d, ph:ph + h, pw:pw + w] = input
    dims = (2, 3, 4)
    spectrum = torch.einsum("ncdhw,ocdhw->nodhw", torch.fft.rfftn(padded, dim=dims),
                            torch.fft.rfftn(weight.double(), s=size, dim=dims).conj())
    full = torch.fft.irfftn(spectrum, s=size, dim=dims)
    out = full[:, :, :size[0] - kd + 1:sd, :size[1] - kh + 1:sh, :size[2] - kw + 1:sw]
    out = out.to(input.dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@alternate(f"{A}.conv3d", "as_strided: 8-D windows of a padded copy, one tensordot")
def conv3d_as_strided(input, weight, bias=None, stride=1, padding=0):
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    n, c_in, d, h, w = input.shape
    kd, kh, kw = weight.shape[2:]
    padded = input.new_zeros(n, c_in, d + 2 * pd, h + 2 * ph, w + 2 * pw)
    padded[:, :, pd:pd + d, ph:ph + h, pw:pw + w] = input
    od, oh, ow = ((d + 2 * pd - kd) // sd + 1, (h + 2 * ph - kh) // sh + 1,
                  (w + 2 * pw - kw) // sw + 1)
    s = padded.stride()
    windows = padded.as_strided((n, c_in, od, oh, ow, kd, kh, kw),
                                (s[0], s[1], sd * s[2], sh * s[3], sw * s[4], s[2], s[3], s[4]))
    out = torch.tensordot(windows, weight, dims=([1, 5, 6, 7], [1, 2, 3, 4]))   # (N, D, H, W, O)
    out = out.permute(0, 4, 1, 2, 3)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)


@alternate(f"{A}.conv3d", "stack-cat: columns stacked from every tap's strided slice, one matmul")
def conv3d_stacked_columns(input, weight, bias=None, stride=1, padding=0):
    import torch.nn.functional as F
    sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
    pd, ph, pw = (padding,) * 3 if isinstance(padding, int) else padding
    n, c_in = input.shape[:2]
    c_out, _, kd, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph, pd, pd))
    od, oh, ow = ((x.shape[2] - kd) // sd + 1, (x.shape[3] - kh) // sh + 1,
                  (x.shape[4] - kw) // sw + 1)
    taps = [x[:, :, a:a + sd * (od - 1) + 1:sd, b:b + sh * (oh - 1) + 1:sh,
              e:e + sw * (ow - 1) + 1:sw]
            for a in range(kd) for b in range(kh) for e in range(kw)]
    columns = torch.stack(taps, dim=2).reshape(n, c_in * kd * kh * kw, od * oh * ow)
    out = (weight.reshape(c_out, -1) @ columns).reshape(n, c_out, od, oh, ow)
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)
