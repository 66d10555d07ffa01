"""Figures of the sections on receptive-field geometry and the effective receptive field
(book/04_dilated_stacks.md: ch04-rf-geometry, ch04-erf).

The page keeps the teaching code and the checks; the drawing lives here, called from hidden
cells with the tensors the page measured. (A new module, to join book/figures/ later.)
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from animate import light_png

__all__ = ["geometry_figure", "erf_figure"]


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def geometry_figure(footprints, boxes, size):
    """The measured footprints of a few output units over the input, each with the box and
    centre that the recurrences predict (``boxes``: (row0, row1, col0, col1) per unit,
    unclipped, so a box may reach into the padding)."""
    fig, ax = plt.subplots(figsize=(5.4, 5.4))
    seen = np.zeros((size, size))
    for foot in footprints:
        seen = np.maximum(seen, (foot != 0).numpy() * 1.0)
    ax.imshow(np.ma.masked_equal(seen, 0), cmap="Blues", vmin=0, vmax=1.6,
              extent=(-0.5, size - 0.5, size - 0.5, -0.5))
    ax.add_patch(Rectangle((-0.5, -0.5), size, size, fill=False, lw=1, ec="black"))
    colors = ["tab:red", "tab:orange", "tab:green", "tab:purple"]
    for (r0, r1, c0, c1), color in zip(boxes, colors):
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                               lw=1.6, ls="--", ec=color))
        ax.plot([(c0 + c1) / 2], [(r0 + r1) / 2], marker="+", ms=12, mew=2, color=color)
    lo = min(min(b[0], b[2]) for b in boxes) - 2
    hi = max(max(b[1], b[3]) for b in boxes) + 2
    ax.set_xlim(min(lo, -1.5), max(hi, size + 0.5))
    ax.set_ylim(max(hi, size + 0.5), min(lo, -1.5))
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")
    ax.set_title("measured footprints (blue), predicted boxes and centres", fontsize=10)
    fig.tight_layout()
    return light_png(fig)


def erf_figure(grads, depths, sides, profiles):
    """Top: the mean |gradient| of the output over the input for a few depths, each over
    its whole receptive field, with the square that holds 95 % of it. Right: the profiles
    (summed over rows) against the position relative to the field, with Gaussians."""
    fig, axes = plt.subplots(1, len(grads) + 1, figsize=(8.5, 2.7),
                             gridspec_kw={"width_ratios": [1] * len(grads) + [1.7]})
    for ax, g, depth, side in zip(axes, grads, depths, sides):
        r = g.shape[-1]
        ax.imshow(g.numpy(), cmap="magma")
        off = (r - side) / 2 - 0.5
        ax.add_patch(Rectangle((off, off), side, side, fill=False, ec="white", ls="--"))
        ax.set_title(f"{depth} layers, $r = {r}$", fontsize=10)
        _bare(ax)
    ax = axes[-1]
    for (depth, prof, gauss), color in zip(profiles, plt.cm.viridis(
            np.linspace(0, 0.85, len(profiles)))):
        r = len(prof)
        t = (np.arange(r) - r // 2) / r
        ax.plot(t, prof.numpy() * r, color=color, lw=1.8, label=f"{depth} layers")
        ax.plot(t, gauss.numpy() * r, color="black", lw=0.8, ls=":")
    ax.set_xlabel("offset / receptive field $r$")
    ax.set_ylabel("gradient share × $r$")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return light_png(fig)
