"""Chapter 2 (several channels; 1x1 convolution and pooling): figures and the channels
summed in motion."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .animate import animation
from .common import (WINDOW_COLORS, as_numpy, figure, grid_figure, outline, partial_grid,
                     show_grid)

__all__ = ["channels_sum_animation", "receptive_patch_figure", "pooling_figure",
           "maxout_figure"]

RED, ORANGE = WINDOW_COLORS[0], WINDOW_COLORS[1]


@figure
def channels_sum_animation(x, w, dpi=90):
    """Per-channel correlations adding up into one output map.

    For each output position, one frame per input channel (its window times its kernel)
    and a last frame where their sum is written into the single output map. Returns the
    player, the per-channel maps and the output.
    """
    x, w = as_numpy(x), as_numpy(w)
    c_in, kh, kw = w.shape
    h_out, w_out = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    partial = np.array([[[(x[c, i:i + kh, j:j + kw] * w[c]).sum() for j in range(w_out)]
                         for i in range(h_out)] for c in range(c_in)])
    y = partial.sum(0)
    steps = c_in + 1
    fig = plt.figure(figsize=(6.6, 1.7 * c_in + 0.3))
    grid = fig.add_gridspec(c_in, 5, width_ratios=[3, 2, 2, 1.6, 2])
    axes = [[fig.add_subplot(grid[c, n]) for n in range(3)] for c in range(c_in)]
    plus = fig.add_subplot(grid[:, 3])
    out_ax = fig.add_subplot(grid[:, 4])
    lo, hi = float(min(partial.min(), y.min())), float(max(partial.max(), y.max()))

    def draw(frame):
        position, step = divmod(frame, steps)
        i, j = divmod(position, w_out)
        for ax in [*sum(axes, []), out_ax, plus]:
            ax.clear()
        plus.axis("off")
        terms = []
        for c in range(c_in):
            done = np.full_like(y, np.nan)
            done.flat[:position] = partial[c].flat[:position]
            active = step >= c
            if active:
                done[i, j] = partial[c, i, j]
                terms.append(f"{partial[c, i, j]:g}")
            show_grid(axes[c][0], x[c], title=f"input channel $x[{c}]$", fontsize=9)
            show_grid(axes[c][1], w[c], title=f"kernel $w[{c}]$", fontsize=9)
            partial_grid(axes[c][2], done, rf"$x[{c}] \star w[{c}]$", lo, hi)
            if active:
                color = WINDOW_COLORS[c % len(WINDOW_COLORS)]
                outline(axes[c][0], (i, j, kh, kw), color=color)
                outline(axes[c][1], (0, 0, kh, kw), color=color)
                outline(axes[c][2], (i, j, 1, 1), color=color, lw=3)
        filled = np.full_like(y, np.nan)
        filled.flat[:position] = y.flat[:position]
        if step == c_in:
            filled[i, j] = y[i, j]
        partial_grid(out_ax, filled, "output $y$", lo, hi)
        if step == c_in:
            outline(out_ax, (i, j, 1, 1), color="black", lw=3)
            plus.text(0.5, 0.5, " + ".join(terms) + f"\n= {y[i, j]:g}\n→",
                      ha="center", va="center", fontsize=10)
        else:
            plus.text(0.5, 0.5, "add\n→", ha="center", va="center", fontsize=10,
                      color="grey")

    draw(0)
    fig.tight_layout()
    player = animation(fig, draw, h_out * w_out * steps, interval=800, dpi=dpi)
    return player, partial, y


@figure
def receptive_patch_figure(seen1, seen2):
    fig, _ = grid_figure([[(seen1, "read by one output\nof layer 1", {"fontsize": 7}),
                           (seen2, "read by one output\nof layer 2", {"fontsize": 7})]],
                         cell=0.3, hgap=0.6, vgap=0.6)
    return fig


@figure
def pooling_figure(fmap, max_out, avg_out, k=2):
    row = [(fmap, "feature map", {}), (max_out, f"{k}×{k} max", {}),
           (avg_out, f"{k}×{k} average", {})]
    fig, (axes,) = grid_figure([row], cell=0.42, hgap=0.5)
    rows, cols = as_numpy(max_out).shape
    for n in range(rows * cols):
        i, j = divmod(n, cols)
        color = WINDOW_COLORS[n % len(WINDOW_COLORS)]
        outline(axes[0], (k * i, k * j, k, k), color=color)
        outline(axes[1], (i, j, 1, 1), color=color)
        outline(axes[2], (i, j, 1, 1), color=color)
    return fig


@figure
def maxout_figure(feats, spatial, maxout, k=2):
    """Max pooling within each map (middle row), maxout across maps (bottom row)."""
    feats, spatial, maxout = as_numpy(feats), as_numpy(spatial), as_numpy(maxout)
    c = feats.shape[0]
    style = {"cmap": plt.get_cmap("Blues"), "vmin": feats.min(),
             "vmax": feats.max() + 0.6 * (feats.max() - feats.min())}   # black numbers
    rows = [[(feats[n], f"channel {n}", style) for n in range(c)],
            [(spatial[n], f"max pool of {n}", style) for n in range(c)],
            [(maxout[m], "maxout of " + ", ".join(str(k * m + t) for t in range(k)),
              style, k * m + (k - 1) / 2) for m in range(c // k)]]
    fig, axes = grid_figure(rows, cell=0.3, hgap=0.3, vgap=0.4, slot=feats.shape[2])
    outline(axes[0][0], (0, 0, 2, 2), color=RED, lw=3)      # a window of one map ...
    outline(axes[1][0], (0, 0, 1, 1), color=RED, lw=3)      # ... gives one pooled value
    for t in range(k):                                     # a pixel of k maps ...
        outline(axes[0][t], (0, 3, 1, 1), color=ORANGE, lw=3)
    outline(axes[2][0], (0, 3, 1, 1), color=ORANGE, lw=3)  # ... gives one maxout value
    return fig


