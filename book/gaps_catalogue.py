"""Figures of the page of transposed convolutions case by case (book/06_catalogue.md).

`conv_plane` says which cells a convolution reads, in the arrangement of Dumoulin & Visin's
guide: a direct convolution slides its kernel over the padded input with stride s; its
transpose slides it with stride 1 over the small map spread out (s - 1 zeros between pixels)
and padded with k - 1 - p zeros (output_padding more at the bottom and right). The page checks
that arrangement against F.conv_transpose2d; the drawings here only show it. (A new module, to
join book/figures/ later.)
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import PatchCollection
from matplotlib.patches import Rectangle

from animate import animation, light_png

__all__ = ["conv_plane", "catalogue_figure", "catalogue_movie", "stacked_figure"]

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
    return animation(fig, draw, frames, interval=350, dpi=dpi)


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
    return animation(fig, draw, i * i, interval=450, dpi=72)


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
