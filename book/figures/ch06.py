"""Chapter 6 (transposed convolution; upsampling): figures and moving pictures.

Every function takes the tensors the page computed and checked, so a figure shows exactly
the numbers that the page asserts.
"""
from __future__ import annotations

from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize, to_rgb
from matplotlib.patches import Rectangle

from .animate import animation, light_png
from .common import (WINDOW_COLORS, as_numpy, bare, cell_panels, colorbar, figure, outline,
                     readable, show_grid)

__all__ = ["cells", "zero_insertion_movie", "stamps_figure", "overlap_movie",
           "checkerboard_figure", "tf_same_figure", "matrix_figure", "phases_figure",
           "down_up_figure", "pixel_shuffle_figure", "read_patterns_figure",
           "read_counts_figure", "conv_plane", "catalogue_figure", "catalogue_movie",
           "stacked_figure"]

INPUT, INSERTED, PADDING = "#9ecae1", "#fdd0a2", "#e6e6e6"   # pixel, zero, padding
# One colour a phase: matplotlib's ten distinct hues (tab10, less grey), lightened halfway to
# white so that black numbers read on them.
PHASE_COLORS = [tuple(0.5 + 0.5 * v for v in to_rgb(plt.cm.tab10(n)))
                for n in (0, 1, 2, 3, 4, 5, 6, 8, 9)]


def cells(ax, values, faces=None, fmt="{:g}", fontsize=9, title=None, cmap=None,
          vmin=None, vmax=None, labels=None):
    """Draw a grid of cells; NaN cells are left empty (white, no number).

    ``faces`` gives one colour per cell (or None: white); otherwise, with ``cmap``, a
    cell's colour follows its value. ``labels``, one string per cell, are written under
    the numbers.
    """
    array = np.asarray(as_numpy(values), dtype=float)
    rows, cols = array.shape
    ax.clear()
    finite = array[np.isfinite(array)]
    norm = Normalize(vmin if vmin is not None else (finite.min() if finite.size else 0),
                     vmax if vmax is not None else (finite.max() if finite.size else 1))
    for r in range(rows):
        for c in range(cols):
            value = array[r, c]
            face = "white"
            if faces is not None and faces[r][c] is not None:
                face = faces[r][c]
            elif cmap is not None and np.isfinite(value):
                face = plt.get_cmap(cmap)(0.85 * norm(value))
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fc=face, ec="grey",
                                   lw=0.5))
            if np.isfinite(value):
                dark = np.dot(to_rgb(face), (0.3, 0.59, 0.11)) < 0.5
                text = fmt.format(value) + (f"\n{labels[r][c]}" if labels else "")
                ax.text(c, r, text, ha="center", va="center", linespacing=1.3,
                        fontsize=fontsize, color="white" if dark else "black")
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    return ax




@figure
def zero_insertion_movie(x, w, y, stride):
    """View 1 in motion: insert s - 1 zeros, pad k - 1, slide the flipped kernel.

    ``x`` (h, w) input, ``w`` (k, k) kernel, ``y`` the page's
    F.conv_transpose2d(x, w, stride). Frame 0 shows x, frame 1 the inserted zeros,
    frame 2 the padding and the flipped kernel, then one frame per output pixel.
    """
    x, w, y = (np.asarray(as_numpy(t), dtype=float) for t in (x, w, y))
    (h, wd), k, s = x.shape, w.shape[0], stride
    border = k - 1
    size_h, size_w = (h - 1) * s + 1 + 2 * border, (wd - 1) * s + 1 + 2 * border
    spread = np.zeros((size_h, size_w))
    spread[border:size_h - border:s, border:size_w - border:s] = x
    flipped = w[::-1, ::-1]
    out_h, out_w = y.shape
    windows = np.array([[(spread[i:i + k, j:j + k] * flipped).sum()
                         for j in range(out_w)] for i in range(out_h)])
    assert np.allclose(windows, y), "the movie's correlation differs from the page's"

    compact = np.full(spread.shape, np.nan)
    compact_faces = [[None] * size_w for _ in range(size_h)]
    compact[border:border + h, border:border + wd] = x
    for r in range(h):
        for c in range(wd):
            compact_faces[border + r][border + c] = INPUT
    inserted = np.full(spread.shape, np.nan)
    inserted_faces = [[None] * size_w for _ in range(size_h)]
    for r in range(border, size_h - border):
        for c in range(border, size_w - border):
            inserted[r, c] = spread[r, c]
            on_pixel = (r - border) % s == 0 and (c - border) % s == 0
            inserted_faces[r][c] = INPUT if on_pixel else INSERTED
    padded_faces = [[f or PADDING for f in row] for row in inserted_faces]

    fig, (ax_in, ax_k, ax_out) = cell_panels([size_w, k, out_w], size_h)
    captions = ["the input x", f"1. insert s - 1 = {s - 1} zero(s) between pixels",
                f"2. pad k - 1 = {border} zeros on every side, flip the kernel"]

    def draw(frame):
        if frame < 3:
            stage, faces = [(compact, compact_faces), (inserted, inserted_faces),
                            (spread, padded_faces)][frame]
            cells(ax_in, stage, faces=faces, title="input, spread and padded")
            kernel = w if frame < 2 else flipped
            cells(ax_k, kernel, faces=[["#c7e9c0"] * k] * k,
                  title="kernel w" if frame < 2 else "w, flipped")
            cells(ax_out, np.full(y.shape, np.nan), title="output y")
            fig.suptitle(captions[frame], fontsize=11)
            return
        i, j = divmod(frame - 3, out_w)
        cells(ax_in, spread, faces=padded_faces, title="input, spread and padded")
        outline(ax_in, (i, j, k, k), color="crimson")
        shown = np.full(y.shape, np.nan)
        shown.flat[:frame - 2] = y.flat[:frame - 2]
        cells(ax_out, shown, cmap="Blues", vmin=0, vmax=y.max(), title="output y")
        outline(ax_out, (i, j, 1, 1), color="crimson")
        fig.suptitle(f"3. slide the flipped kernel: y[{i}, {j}] = {y[i, j]:g}",
                     fontsize=11)

    draw(0)
    fig.tight_layout()
    return animation(fig, draw, 3 + out_h * out_w, interval=700, dpi=80)


@figure
def stamps_figure(x, w, stamps, y, stride):
    """View 3, readable: the stamps laid out like the input pixels, and their sum."""
    x, w, y = (np.asarray(as_numpy(t), dtype=float) for t in (x, w, y))
    h, wd = x.shape
    k = w.shape[0]
    fig = plt.figure(figsize=(9.0, 5.6))
    grid = fig.add_gridspec(h, wd + 2, width_ratios=[1] * wd + [0.15, 1.6])
    vmax = y.max()
    positions = [(i, j) for i in range(h) for j in range(wd)]
    for n, ((i, j), stamp) in enumerate(zip(positions, stamps)):
        ax = fig.add_subplot(grid[i, j])
        stamp = np.asarray(as_numpy(stamp), dtype=float)
        region = np.full(stamp.shape, np.nan)
        region[stride * i:stride * i + k, stride * j:stride * j + k] = 1
        cells(ax, stamp * region, cmap="Blues", vmin=0, vmax=vmax,
              title=f"x[{i}, {j}] = {x[i, j]:g}: {x[i, j]:g}·w")
        outline(ax, (stride * i, stride * j, k, k), color=WINDOW_COLORS[n])
    ax = fig.add_subplot(grid[:, wd + 1])
    cells(ax, y, cmap="Blues", vmin=0, vmax=vmax, fontsize=11, title="y: the sum")
    for n, (i, j) in enumerate(positions):
        outline(ax, (stride * i, stride * j, k, k), color=WINDOW_COLORS[n], lw=1.5,
                ls="--")
    fig.tight_layout()
    return fig


@figure
def overlap_movie(n, k, stride, counts):
    """Stamping with overlaps: each pixel of an n x n image of ones stamps a k x k
    kernel of ones; the output counts the stamps on each pixel and ends as ``counts``
    (the page's F.conv_transpose2d of ones), the checkerboard."""
    counts = np.asarray(as_numpy(counts), dtype=float)
    size = counts.shape[0]
    levels = {0: "white", 1: "#deebf7", 2: "#6baed6", 3: "#3182bd", 4: "#08519c"}
    fig, (ax_in, ax_out) = cell_panels([n, size], size, cell=0.4)

    def draw(frame):
        total = np.zeros_like(counts)
        for m in range(frame):
            i, j = divmod(m, n)
            total[stride * i:stride * i + k, stride * j:stride * j + k] += 1
        faces = [[levels.get(int(v), "#08306b") for v in row] for row in total]
        shown = np.where(total > 0, total, np.nan)
        cells(ax_in, np.ones((n, n)), faces=[[INPUT] * n] * n, title="input: ones")
        cells(ax_out, shown, faces=faces, fmt="{:.0f}", title="stamps on each pixel")
        if frame == 0:
            fig.suptitle(f"each pixel stamps a {k}×{k} kernel of ones, stride {stride}",
                         fontsize=11)
            return
        i, j = divmod(frame - 1, n)
        outline(ax_in, (i, j, 1, 1), color="crimson")
        outline(ax_out, (stride * i, stride * j, k, k), color="crimson")
        fig.suptitle(f"x[{i}, {j}] stamps: {frame} of {n * n}", fontsize=11)

    def draw_checked(frame):
        draw(frame)
        if frame == n * n:
            total = np.zeros_like(counts)
            for m in range(n * n):
                i, j = divmod(m, n)
                total[stride * i:stride * i + k, stride * j:stride * j + k] += 1
            assert np.array_equal(total, counts), "the last frame is not the page's"

    draw_checked(n * n)
    draw(0)
    fig.tight_layout()
    return animation(fig, draw_checked, n * n + 1, interval=500, dpi=80)


@figure
def checkerboard_figure(even, tconv_flat, resize_conv):
    """Even tap counts (k = 4, s = 2), then a constant image through a transposed
    convolution (k = 3, s = 2) and through resize-then-convolve, side by side on one colour
    scale, whose bar is ticked at the values the two images take."""
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.5), layout="constrained")
    show_grid(axes[0], even, title="taps per pixel, k = 4, s = 2", fontsize=9)
    axes[0].title.set_fontsize(11)
    images = [as_numpy(tconv_flat), as_numpy(resize_conv)]
    titles = ["constant image,\ntransposed conv k = 3, s = 2",
              "constant image, nearest\nresize, then 3×3 conv"]
    top = max(float(image.max()) for image in images)
    for ax, image, title in zip(axes[1:], images, titles):
        shown = ax.imshow(image, cmap="viridis", vmin=0, vmax=top)
        ax.set_title(title, fontsize=11)
        bare(ax)
    levels = np.unique(np.round(np.concatenate([image.ravel() for image in images]), 6))
    ticks = labels = None
    if len(levels) <= 8:                     # few values: tick each, as a fraction
        ticks = levels
        labels = [str(Fraction(float(v)).limit_denominator(100)) for v in levels]
    colorbar(fig, shown, list(axes[1:]), label="pixel value (both images)", ticks=ticks,
             ticklabels=labels)
    return fig


@figure
def tf_same_figure(full):
    """The full output with TF's 'SAME' crop (red) and PyTorch's (blue, dashed)."""
    fig, ax = plt.subplots(figsize=(2.6, 2.8))
    show_grid(ax, full, title="full 5×5 output", fontsize=9)
    outline(ax, (0, 0, 4, 4), color="crimson")
    outline(ax, (1, 1, 4, 4), color="royalblue", ls="--")
    fig.tight_layout()
    return fig


@figure
def matrix_figure(A, in_shape, out_shape):
    """The matrix of a small convolution, its rows and columns named by pixel."""
    (H, W), (oh, ow) = in_shape, out_shape
    fig, ax = plt.subplots(figsize=(5.4, 2.8))
    show_grid(ax, A)
    ax.set_xticks(range(H * W))
    ax.set_xticklabels([f"x{r}{c}" for r in range(H) for c in range(W)], fontsize=8)
    ax.set_yticks(range(oh * ow))
    ax.set_yticklabels([f"y{r}{c}" for r in range(oh) for c in range(ow)], fontsize=8)
    ax.tick_params(labelbottom=True, labelleft=True)
    fig.tight_layout()
    return fig


@figure
def phases_figure(kernels, strides, titles):
    """Each kernel with the taps of each phase (row and column remainder modulo its
    stride) in one colour, and labelled with the phase under the value."""
    fig, axes = plt.subplots(1, len(kernels), figsize=(3.3 * len(kernels), 3.7))
    for ax, kernel, s, title in zip(np.atleast_1d(axes), kernels, strides, titles):
        kernel = np.asarray(as_numpy(kernel), dtype=float)
        rows, cols = kernel.shape
        faces = [[PHASE_COLORS[(r % s) * s + c % s] for c in range(cols)]
                 for r in range(rows)]
        phases = [[f"({r % s}, {c % s})" for c in range(cols)] for r in range(rows)]
        cells(ax, kernel, faces=faces, fmt="{:.3g}", fontsize=9, title=title,
              labels=phases)
        ax.title.set_fontsize(11)
    fig.tight_layout()
    return fig


@figure
def down_up_figure(signals, titles):
    """1-D signals as stems, one row each: x, its downsampling, its upsampling, ..."""
    fig, axes = plt.subplots(len(signals), 1, figsize=(6.4, 1.05 * len(signals) + 0.3),
                             sharex=True)
    length = max(len(as_numpy(s)) for s in signals)
    for ax, signal, title in zip(axes, signals, titles):
        values = np.asarray(as_numpy(signal), dtype=float)
        markers, stems, base = ax.stem(range(len(values)), values)
        plt.setp(stems, lw=1.5)
        plt.setp(base, color="grey", lw=0.5)
        ax.set_ylabel(title, rotation=0, ha="right", va="center", fontsize=10)
        ax.set_yticks([])
        ax.set_xlim(-0.7, length - 0.3)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xticks(range(length))
    axes[-1].set_xlabel("position t")
    fig.tight_layout()
    return fig


@figure
def pixel_shuffle_figure(channels, shuffled, stride):
    """The s² channel maps of a sub-pixel convolution and the image pixel_shuffle weaves
    from them, each phase in the colour of its channel."""
    channels = np.asarray(as_numpy(channels), dtype=float)
    shuffled = np.asarray(as_numpy(shuffled), dtype=float)
    h, w = channels.shape[1:]
    fig = plt.figure(figsize=(9.0, 4.4))
    grid = fig.add_gridspec(stride, 2 * stride + 1,
                            width_ratios=[1] * stride + [0.2] + [1] * stride)
    for m, channel in enumerate(channels):
        r, c = divmod(m, stride)
        ax = fig.add_subplot(grid[r, c])
        cells(ax, channel, faces=[[PHASE_COLORS[m]] * w] * h, fmt="{:.1f}", fontsize=8,
              title=f"channel {m}: phase ({r}, {c})")
    ax = fig.add_subplot(grid[:, stride + 1:])
    faces = [[PHASE_COLORS[(r % stride) * stride + c % stride]
              for c in range(w * stride)] for r in range(h * stride)]
    cells(ax, shuffled, faces=faces, fmt="{:.1f}", fontsize=8,
          title="after pixel_shuffle")
    return fig


@figure
def read_patterns_figure(patterns, titles):
    """Boolean read patterns side by side (the explorer's page): one row per output, one
    column per input, dark where that output reads that input."""
    patterns = [np.asarray(as_numpy(p), dtype=bool) for p in patterns]
    height = max(p.shape[0] for p in patterns)
    fig, axes = cell_panels([p.shape[1] for p in patterns], height, cell=0.32, top=0.9)
    for ax, pattern, title in zip(axes, patterns, titles):
        faces = [["#08519c" if v else "white" for v in row] for row in pattern]
        cells(ax, np.full(pattern.shape, np.nan), faces=faces, title=title, fontsize=8)
        ax.set_ylim(height - 0.5, -0.5)
    return fig


@figure
def read_counts_figure(counts, titles):
    """Grids of counts side by side (how many input cells each output cell reads)."""
    counts = [np.asarray(as_numpy(c), dtype=float) for c in counts]
    height = max(c.shape[0] for c in counts)
    fig, axes = cell_panels([c.shape[1] for c in counts], height, cell=0.32, top=0.9)
    for ax, grid, title in zip(axes, counts, titles):
        cells(ax, grid, cmap="Blues", fmt="{:.0f}", fontsize=7, title=title, vmin=0)
        ax.set_ylim(height - 0.5, -0.5)
    return fig


INPUT, INSERTED, PADDING = "#9ecae1", "#fdd0a2", "#f2f2f2"   # as in chapter 6's figures
OUTPUT, WINDOW = "#a1d99b", "crimson"
PAD, PIXEL, ZERO = 0, 1, 2


def conv_plane(i, k, s, p, transposed=False, output_padding=0):
    """(kinds, stride, out) of a square case. Direct: the input i x i, padded by p.
    Transposed: the direct output o x o, spread and padded by k - 1 - p (+ output_padding
    at the end). ``kinds`` marks each cell PAD, PIXEL or ZERO (inserted); the kernel slides
    over it with ``stride`` and gives ``out`` x ``out`` outputs."""
    if not transposed:
        kinds = torch.full((i + 2 * p,) * 2, PAD)
        kinds[p:p + i, p:p + i] = PIXEL
        return kinds, s, (i + 2 * p - k) // s + 1
    o = (i + 2 * p - k) // s + 1
    border = k - 1 - p
    side = (o - 1) * s + 1 + 2 * border + output_padding
    kinds = torch.full((side, side), PAD)
    inner = border + (o - 1) * s + 1
    kinds[border:inner, border:inner] = ZERO
    kinds[border:inner:s, border:inner:s] = PIXEL
    return kinds, 1, side - k + 1


def _draw_plane(ax, kinds, k, stride, out, position, title):
    """The plane's cells, the kernel window for output ``position``, and the output grid
    to the right of it, with that output cell marked. Returns ``move(position)``, which
    moves the two marks without redrawing the cells."""
    ax.clear()
    side = kinds.shape[-1]
    colours = {PAD: PADDING, PIXEL: INPUT, ZERO: INSERTED}
    cells = [(r, c, int(kinds[r, c])) for r in range(side) for c in range(side)]
    ax.add_collection(PatchCollection(
        [Rectangle((c, -r - 1), 1, 1) for r, c, _ in cells], edgecolor="grey", lw=0.6,
        facecolor=[colours[kind] for *_, kind in cells],
        linestyle=["--" if kind == PAD else "-" for *_, kind in cells]))
    left = side + 1.2
    top = -(side - out) / 2
    ax.add_collection(PatchCollection(
        [Rectangle((left + c, top - r - 1), 1, 1) for r in range(out) for c in range(out)],
        facecolor=OUTPUT, edgecolor="grey", lw=0.6))
    window = Rectangle((0, 0), k, k, fill=True, fc=(0.86, 0.08, 0.24, 0.18), ec=WINDOW,
                       lw=2)
    target = Rectangle((0, 0), 1, 1, fill=False, ec=WINDOW, lw=2)
    ax.add_patch(window)
    ax.add_patch(target)

    def move(position):
        oi, oj = divmod(position, out)
        window.set_xy((oj * stride, -oi * stride - k))
        target.set_xy((left + oj, top - oi - 1))

    move(position)
    ax.set_xlim(-0.3, left + out + 0.3)
    ax.set_ylim(-side - 0.3, 0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9.5)
    return move


def _titles(name, i, k, s, p, op):
    o = (i + 2 * p - k) // s + 1
    tr = f"transposed: {o}×{o} → {i}×{i}"
    if s > 1:
        tr += f"\n{s - 1} zero between, pad {k - 1 - p}"
    else:
        tr += f"\npad {k - 1 - p}"
    if op:
        tr += f" (+{op})"
    return f"{name}\nconv: {i}×{i} → {o}×{o}, p = {p}", tr


@figure
def catalogue_figure(cases, frames=None, dpi=60):
    """``cases``: {name: (i, k, s, p, output_padding)}; each case is a pair of panels,
    the direct convolution and its transpose. Without ``frames``, a picture with the window
    of each first output; with it, an animation in which every panel's window sweeps all
    its outputs once, each at its own pace, in ``frames`` frames."""
    n = len(cases)
    cols = 2 * min(n, 2)
    rows = -(-n // 2)
    fig, axes = plt.subplots(rows, cols, figsize=(9, 2.5 * rows))
    panels = []
    for index, (name, (i, k, s, p, op)) in enumerate(cases.items()):
        row, col = divmod(index, 2)
        direct_title, transposed_title = _titles(name, i, k, s, p, op)
        for ax, transposed, title in ((axes[row, 2 * col], False, direct_title),
                                      (axes[row, 2 * col + 1], True, transposed_title)):
            kinds, stride, out = conv_plane(i, k, s, p, transposed, op)
            panels.append((_draw_plane(ax, kinds, k, stride, out, 0, title), out))

    def draw(frame):
        for move, out in panels:
            move(frame * out * out // frames)

    fig.tight_layout()
    if not frames:
        return light_png(fig)
    readable(fig, dpi)               # the frames move patches only: the text stays as set here
    return animation(fig, draw, frames, interval=350, dpi=dpi)


@figure
def catalogue_movie(name, i, k, s, p, op):
    """One case in motion: the transposed convolution (right) writes its output pixels one
    by one; the direct convolution (left) shows a window that reads the same pixel of the
    direct input, so the two windows move together."""
    o = (i + 2 * p - k) // s + 1
    direct = conv_plane(i, k, s, p)
    transposed = conv_plane(i, k, s, p, True, op)
    assert direct[2] == o and transposed[2] == i
    fig, (ax_d, ax_t) = plt.subplots(1, 2, figsize=(7.6, 3.0))
    direct_title, transposed_title = _titles(name, i, k, s, p, op)
    move_d = _draw_plane(ax_d, direct[0], k, direct[1], o, 0,
                         direct_title.replace("\n", ": "))
    move_t = _draw_plane(ax_t, transposed[0], k, 1, i, 0, transposed_title)

    def draw(frame):
        r, c = divmod(frame, i)
        move_d(min((r + p) // s, o - 1) * o + min((c + p) // s, o - 1))
        move_t(frame)

    fig.tight_layout()
    readable(fig, 72)                # the frames move patches only: the text stays as set here
    return animation(fig, draw, i * i, interval=450, dpi=72)


@figure
def stacked_figure(counts, lines):
    """Left: the 2-D tap counts after one and after two layers (``counts``: title -> 2-D
    tensor). Right: a row of each (``lines``: title -> 1-D tensor)."""
    fig, axes = plt.subplots(1, len(counts) + 1, figsize=(9, 3.1),
                             gridspec_kw={"width_ratios": [1] * len(counts) + [1.3]})
    for ax, (title, c) in zip(axes, counts.items()):
        ax.imshow(c.numpy(), cmap="magma", vmin=0, vmax=1.3 * float(c.max()))
        for (r, col), v in np.ndenumerate(c.numpy()):
            ax.text(col, r, f"{v:g}", ha="center", va="center", fontsize=6,
                    color="white" if v < 0.6 * float(c.max()) else "black")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes[-1]
    for (title, line), marker in zip(lines.items(), "os^"):
        ax.plot(line.numpy(), marker=marker, ms=4, lw=1, label=title)
    ax.set_xlabel("output position along one axis")
    ax.set_ylabel("taps")
    ax.legend(fontsize=8, frameon=False, loc="lower center", ncols=2,
              bbox_to_anchor=(0.5, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return light_png(fig)
