"""Chapter 8 (max-unpooling): the unpooling in motion and grids of small images."""
from __future__ import annotations

import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle

from .animate import animation
from .common import (WINDOW_COLORS, as_numpy, bare, colorbar, figure, outline, show_grid,
                     symmetric_limits)

__all__ = ["unpooling_animation", "image_grid"]


@figure
def unpooling_animation(x, values, switches, kernel_size=2):
    """Max pooling recording its switches, window by window, then max-unpooling writing each
    value back at its switch into a map of zeros. All arguments are single 2-D planes.

    Each window has its colour in every panel: its cells are tinted with it in the input and
    the unpooled map, its maximum and the cell it is written back to strongly, and its value
    and its switch in the pooled maps."""
    x, values, switches = (t.detach().cpu() for t in (x, values, switches))
    rows, cols = values.shape
    width = x.shape[1]
    k = kernel_size
    windows = list(itertools.product(range(rows), range(cols)))
    fig, axes = plt.subplots(1, 4, figsize=(9.0, 2.9),
                             gridspec_kw={"width_ratios": [x.shape[1], cols, cols, x.shape[1]]})
    titles = ["input", "pooled values", "switches", "unpooled"]
    frames = [("start", None)] + [("pool", n) for n in range(len(windows))] + \
             [("zeros", None)] + [("unpool", n) for n in range(len(windows))]
    white = ListedColormap(["white"])

    def panel(ax, array, title, shown):
        ax.clear()
        masked = np.where(shown, array, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # an all-blank panel
            show_grid(ax, masked, title=title, cmap=white, fontsize=11, fmt="{:g}")
        for text in ax.texts:
            if text.get_text() == "nan":
                text.set_text("")

    def tint(ax, r, c, color, alpha, h=1, w=1):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fc=color, alpha=alpha, lw=0,
                               zorder=0.5))

    def draw(i):
        stage, step = frames[i]
        pooled_upto = {"start": 0, "pool": (step or 0) + 1}.get(stage, len(windows))
        written = {"unpool": (step or 0) + 1}.get(stage, 0)
        got = np.zeros((rows, cols), bool)
        for n in range(pooled_upto):
            got[windows[n]] = True
        unpooled = np.zeros(x.shape)
        placed = np.zeros(x.shape, bool)
        for n in range(written):
            r, c = divmod(int(switches[windows[n]]), width)
            unpooled[r, c] = float(values[windows[n]])
            placed[r, c] = True
        show_unpooled = np.ones(x.shape, bool) if stage in ("zeros", "unpool") else placed
        panel(axes[0], x.numpy(), titles[0], np.ones(x.shape, bool))
        panel(axes[1], values.numpy(), titles[1], got)
        panel(axes[2], switches.numpy(), titles[2], got)
        panel(axes[3], unpooled, titles[3], show_unpooled)
        for n, (i_, j_) in enumerate(windows):
            color = WINDOW_COLORS[n % len(WINDOW_COLORS)]
            current = stage in ("pool", "unpool") and n == step
            lw = 4 if current else 2
            window = (k * i_, k * j_, k, k)
            tint(axes[0], k * i_, k * j_, color, 0.12, k, k)
            outline(axes[0], window, color=color, lw=lw)
            if show_unpooled.any():
                tint(axes[3], k * i_, k * j_, color, 0.12, k, k)
                outline(axes[3], window, color=color, lw=lw)
            r, c = divmod(int(switches[i_, j_]), width)
            if n < pooled_upto:
                tint(axes[0], r, c, color, 0.45)
                for ax in axes[1:3]:
                    tint(ax, i_, j_, color, 0.45)
                    outline(ax, (i_, j_, 1, 1), color=color, lw=lw)
            if n < written:
                tint(axes[3], r, c, color, 0.45)
        caption = {"start": "max pooling, 2×2 windows, one colour each",
                   "pool": "each window: its maximum and its switch (flat index h·W + v)",
                   "zeros": "unpooling starts from a map of zeros",
                   "unpool": "each value goes back to its switch, in its window"}[stage]
        fig.suptitle(caption, fontsize=11, y=0.03, va="bottom")

    draw(0)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return animation(fig, draw, len(frames), interval=900, dpi=90)


@figure
def image_grid(panels, columns=3, cmap="magma", vmin=None, vmax=None, symmetric=False,
               size=1.9, groups=None):
    """Small images in a grid of ``columns``: ``panels`` is a list of (title, 2-D array).

    Panels with the same entry in ``groups`` (by default, all panels) share one colour scale,
    shown by one colour bar beside them: ``vmin`` to ``vmax`` where given, else the range of
    their values, or, with ``symmetric``, limits symmetric about 0 (for `DIVERGING`).
    """
    count = len(panels)
    n_rows = -(-count // columns)
    groups = list(groups or [0] * count)
    fig, axes = plt.subplots(n_rows, columns, figsize=(size * columns + 0.8,
                                                       (size + 0.4) * n_rows),
                             layout="constrained")
    axes = np.atleast_1d(axes).ravel()
    pictures = [as_numpy(picture) for _, picture in panels]
    for key in dict.fromkeys(groups):
        members = [n for n, group in enumerate(groups) if group == key]
        values = [pictures[n] for n in members]
        if symmetric:
            limits = symmetric_limits(*values)
        else:
            limits = {"vmin": min(float(v.min()) for v in values) if vmin is None else vmin,
                      "vmax": max(float(v.max()) for v in values) if vmax is None else vmax}
        for n in members:
            shown = axes[n].imshow(pictures[n], cmap=cmap, **limits)
            axes[n].set_title(panels[n][0], fontsize=10)
            bare(axes[n])
        colorbar(fig, shown, [axes[n] for n in members], shrink=0.8)
    for ax in axes[count:]:
        ax.axis("off")
    return fig
