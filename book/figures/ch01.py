"""Chapter 1 (cross-correlation; padding and stride): figures and the sliding window."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from .animate import animation
from .common import (DIVERGING, WINDOW_COLORS, as_numpy, figure, grid_figure, mark_padding,
                     outline, padding_legend, partial_grid, show_grid)

__all__ = ["stripe_figure", "padding_figure", "sliding_window_animation",
           "dropped_window_figure"]

RED = WINDOW_COLORS[0]


@figure
def stripe_figure(stripe, diff, corr_out, conv_out):
    """Input and kernel on top, the two results below, at one cell size."""
    style = dict(cmap=DIVERGING, vmin=-2, vmax=2)
    fig, _ = grid_figure([[(stripe, "input (a bright stripe)", style),
                           (diff, "kernel $w$", style)],
                          [(corr_out, r"cross-correlation $x \star w$", style),
                           (conv_out, "true convolution $x * w$", style)]])
    return fig


@figure
def padding_figure(x, padded, uneven, pads):
    """x and x padded by ``F.pad`` with each of ``pads`` ((left, right, top, bottom) for
    ``padded`` and for ``uneven``), at one cell size; padding cells grey and hatched."""
    shape = as_numpy(x).shape
    row = [(x, "$x$", {})] + [(p, f"F.pad(x, {tuple(pad)})", {})
                              for p, pad in zip((padded, uneven), pads)]
    fig, (axes,) = grid_figure([row], cell=0.38, hgap=0.5)
    for ax, array, (left, _, top, _) in zip(axes[1:], (padded, uneven), pads):
        assert np.array_equal(as_numpy(array)[top:top + shape[0], left:left + shape[1]],
                              as_numpy(x)), "the padded input does not hold x where drawn"
        mark_padding(ax, as_numpy(array).shape, (top, left, *shape))
    padding_legend(fig, data="$x$")
    return fig


@figure
def sliding_window_animation(x, w, padding, stride, dpi=90):
    """The kernel sliding over the zero-padded input with a stride, an output a frame.

    Frame ``f`` computes output ``(i, j) = divmod(f, W_out)``: its window is outlined
    on the padded input (the real input dashed), the output cell it fills lights up,
    and the sum is written out underneath. Returns the player and the output.
    """
    x, w = as_numpy(x), as_numpy(w)
    p, s = padding, stride
    xp = np.pad(x, p)
    kh, kw = w.shape
    h_out, w_out = (xp.shape[0] - kh) // s + 1, (xp.shape[1] - kw) // s + 1
    y = np.array([[(xp[s * i:s * i + kh, s * j:s * j + kw] * w).sum()
                   for j in range(w_out)] for i in range(h_out)])
    widths = [xp.shape[1], kw, w_out]
    cell = 0.34
    figsize = (cell * sum(widths) + 1.3, cell * xp.shape[0] + 1.0)
    fig, axes = plt.subplots(1, 3, gridspec_kw={"width_ratios": widths}, figsize=figsize)
    lo, hi = float(y.min()), float(y.max())

    def draw(frame):
        i, j = divmod(frame, w_out)
        filled = np.full_like(y, np.nan)
        filled.flat[:frame + 1] = y.flat[:frame + 1]
        for ax in axes:
            ax.clear()
        show_grid(axes[0], xp, title=f"input, padding {p}", fontsize=9)
        mark_padding(axes[0], xp.shape, (p, p, *x.shape))
        outline(axes[0], (p, p, *x.shape), color="black", ls="--", lw=1.2)
        outline(axes[0], (s * i, s * j, kh, kw), color=RED)
        show_grid(axes[1], w, title="kernel $w$", fontsize=9)
        outline(axes[1], (0, 0, kh, kw), color=RED)
        partial_grid(axes[2], filled, f"output, stride {s}", lo, hi)
        outline(axes[2], (i, j, 1, 1), color=RED, lw=3)
        fig.texts.clear()
        fig.text(0.5, 0.03, f"y[{i}, {j}] reads the window at row {s}·{i} = {s * i}, "
                 f"column {s}·{j} = {s * j}:  sum of window × w = {y[i, j]:g}",
                 ha="center", fontsize=9)

    draw(0)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    return animation(fig, draw, h_out * w_out, interval=900, dpi=dpi), y


@figure
def dropped_window_figure(size, k, s):
    """Windows of a 1-D input with a stride; one that would stick out is dropped."""
    starts = list(range(0, size - k + 1, s))
    dropped = starts[-1] + s
    figsize = (0.42 * (dropped + k + 4.5), 0.42 * (len(starts) + 3))
    fig, ax = plt.subplots(figsize=figsize)
    for c in range(size):
        ax.add_patch(Rectangle((c, 0), 1, 1, fc="#dbe9f6", ec="grey"))
        ax.text(c + 0.5, 0.5, f"x[{c}]", ha="center", va="center", fontsize=8)
    for n, start in enumerate(starts + [dropped]):
        last = start == dropped
        y0 = -1.0 - 0.9 * n
        color = "grey" if last else WINDOW_COLORS[n % len(WINDOW_COLORS)]
        ax.add_patch(Rectangle((start, y0), k, 0.7, fill=not last, fc=color,
                               alpha=1 if last else 0.35, ec=color, lw=2,
                               ls=":" if last else "-"))
        label = "dropped: sticks out" if last else f"window of y[{n}]"
        ax.text(start + k + 0.15, y0 + 0.35, label, va="center", fontsize=8)
    ax.set_xlim(-0.2, dropped + k + 4.3)
    ax.set_ylim(-1.2 - 0.9 * len(starts), 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig, starts


