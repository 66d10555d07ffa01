"""Chapter 1 (cross-correlation; padding and stride): figures and the sliding window."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from .animate import animation
from .common import WINDOW_COLORS, as_numpy, grid_figure, outline, partial_grid, show_grid

__all__ = ["stripe_figure", "padding_figure", "sliding_window_animation",
           "dropped_window_figure"]

RED = WINDOW_COLORS[0]


def stripe_figure(stripe, diff, corr_out, conv_out):
    """Input and kernel on top, the two results below, at one cell size."""
    style = dict(cmap="coolwarm", vmin=-2, vmax=2)
    fig, _ = grid_figure([[(stripe, "input (a bright stripe)", style),
                           (diff, "kernel $w$", style)],
                          [(corr_out, r"cross-correlation $x \star w$", style),
                           (conv_out, "true convolution $x * w$", style)]])
    return fig


def padding_figure(x, padded, uneven):
    """x, x padded by one on every side, and x padded unevenly, at one cell size."""
    row = [(x, "$x$", {}), (padded, "F.pad(x, (1, 1, 1, 1))", {}),
           (uneven, "F.pad(x, (2, 0, 1, 0))", {})]
    fig, _ = grid_figure([row], cell=0.38, hgap=0.5)
    return fig


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


