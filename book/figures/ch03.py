"""Chapter 3 (3-D convolution): slices, volumes and costs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .common import WINDOW_COLORS, figure, grid_figure, outline

__all__ = ["slices_figure", "volumes_figure", "cost_figure"]

RED, ORANGE = WINDOW_COLORS[0], WINDOW_COLORS[1]


@figure
def slices_figure(xs, ks, ys):
    """A 3-D correlation slice by slice: input slices on top, kernel and output slices
    below, at one cell size."""
    top = [(xs[d], f"input, depth {d}", {}) for d in range(3)]
    bottom = ([(ks[a], f"kernel, depth {a}", {}) for a in range(2)]
              + [(ys[i], f"output, depth {i}", {}) for i in range(2)])
    fig, (inputs, lower) = grid_figure([top, bottom], cell=0.42, hgap=0.35)
    # y[0, 0, 0] reads depths 0 and 1; y[1, 1, 1] reads depths 1 and 2
    outline(inputs[0], (0, 0, 2, 2), color=RED)
    outline(inputs[1], (0, 0, 2, 2), color=RED)
    outline(lower[2], (0, 0, 1, 1), color=RED)
    outline(inputs[1], (1, 1, 2, 2), color=ORANGE, ls="--")
    outline(inputs[2], (1, 1, 2, 2), color=ORANGE, ls="--")
    outline(lower[3], (1, 1, 1, 1), color=ORANGE, ls="--")
    return fig


def _draw_volume(ax, dhw, block, title, color=RED):
    """A D×H×W grid of voxels (depth into the page), translucent, with the block
    (d0, h0, w0, kd, kh, kw) drawn solid so that it shows through the rest."""
    d, h, w = dhw
    rest = np.ones((w, d, h), dtype=bool)        # matplotlib axes: x = W, y = D, z = H
    solid = np.zeros_like(rest)
    d0, h0, w0, kd, kh, kw = block
    solid[w0:w0 + kw, d0:d0 + kd, h - h0 - kh:h - h0] = True
    rest &= ~solid
    ax.voxels(rest, facecolors="#c6dbef30", edgecolors="#8a8a8a", linewidth=0.4)
    ax.voxels(solid, facecolors=color, edgecolors="#5a0010", linewidth=0.6, alpha=0.9)
    ax.set_box_aspect((w, d, h))
    ax.view_init(elev=22, azim=-58)
    ax.set_xticks([]), ax.set_yticks([]), ax.set_zticks([])
    for axis, label in (("x", "W"), ("y", "depth"), ("z", "H")):
        getattr(ax, f"set_{axis}label")(label, labelpad=-12, fontsize=8)
    ax.set_title(title, fontsize=9)


@figure
def volumes_figure(c, h, w, depth_3d=4, k=2):
    """Top: a 2-D filter fills the channel axis; bottom: a 3-D one moves along depth."""
    fig = plt.figure(figsize=(6.4, 5.0))
    panels = [
        ((c, h, w), (0, 0, 0, c, k, k),
         f"2-D conv: input {c}×{h}×{w}\n(channels as depth), filter {c}×{k}×{k}"),
        ((1, h - k + 1, w - k + 1), (0, 0, 0, 1, 1, 1),
         f"output: one {h - k + 1}×{w - k + 1} map\n(depth {c} - {c} + 1 = 1)"),
        ((depth_3d, h, w), (1, 0, 0, k, k, k),
         f"3-D conv: input {depth_3d}×{h}×{w}, filter {k}×{k}×{k}\n"
         "(here at depth 1)"),
        ((depth_3d - k + 1, h - k + 1, w - k + 1), (1, 0, 0, 1, 1, 1),
         f"output: a {depth_3d - k + 1}×{h - k + 1}×{w - k + 1} volume\n"
         f"(depth {depth_3d} - {k} + 1 = {depth_3d - k + 1})"),
    ]
    for n, (dhw, block, title) in enumerate(panels):
        _draw_volume(fig.add_subplot(2, 2, n + 1, projection="3d"), dhw, block, title)
    fig.tight_layout()
    return fig


@figure
def cost_figure(labels, params, macs):
    """Parameters and multiply-adds of a few layers, side by side, on log scales."""
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.9))
    colors = ["#9ecae1", "#4292c6", RED]
    panels = [("parameters", params), ("multiply-adds", macs)]
    for ax, (title, values) in zip(axes, panels):
        bars = ax.bar(labels, values, color=colors)
        ax.set_yscale("log")
        ax.set_ylim(min(values) / 3, max(values) * 8)
        ax.set_title(f"{title} (log scale)", fontsize=10)
        for bar, v in zip(bars, values):
            text = (f"{v:,}" if v < 1e6 else f"{v / 1e9:.2f} G" if v >= 1e9
                    else f"{v / 1e6:.1f} M")
            ax.text(bar.get_x() + bar.get_width() / 2, v * 1.3, text, ha="center",
                    fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.tick_params(axis="y", labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig
