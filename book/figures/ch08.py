"""Chapter 8 (max-unpooling): the unpooling in motion and grids of small images."""
from __future__ import annotations

import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from .animate import animation
from .common import WINDOW_COLORS, as_numpy, bare, outline, show_grid

__all__ = ["unpooling_animation", "image_grid"]


def unpooling_animation(x, values, switches, kernel_size=2):
    """Max pooling recording its switches, window by window, then max-unpooling writing each
    value back at its switch into a map of zeros. All arguments are single 2-D planes."""
    x, values, switches = (t.detach().cpu() for t in (x, values, switches))
    rows, cols = values.shape
    width = x.shape[1]
    windows = list(itertools.product(range(rows), range(cols)))
    fig, axes = plt.subplots(1, 4, figsize=(9.0, 2.9),
                             gridspec_kw={"width_ratios": [x.shape[1], cols, cols, x.shape[1]]})
    titles = ["input", "pooled values", "switches", "unpooled"]
    vmax = float(x.max()) * 1.5
    frames = [("start", None)] + [("pool", n) for n in range(len(windows))] + \
             [("zeros", None)] + [("unpool", n) for n in range(len(windows))]

    def panel(ax, array, title, shown, cmap="Blues", top=vmax):
        ax.clear()
        masked = np.where(shown, array, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # an all-blank panel
            show_grid(ax, masked, title=title, cmap=cmap, vmin=0, vmax=top, fontsize=11,
                      fmt="{:g}")
        for text in ax.texts:
            if text.get_text() == "nan":
                text.set_text("")

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
        panel(axes[2], switches.numpy(), titles[2], got, cmap="Greys", top=1e4)
        panel(axes[3], unpooled, titles[3], show_unpooled)
        for n, (i_, j_) in enumerate(windows):
            color = WINDOW_COLORS[n % len(WINDOW_COLORS)]
            lw = 3.5 if (stage == "pool" and n == step) or (stage == "unpool" and n == step) \
                else 1.5
            outline(axes[0], (kernel_size * i_, kernel_size * j_, kernel_size, kernel_size),
                    color=color, lw=lw)
            r, c = divmod(int(switches[i_, j_]), width)
            if n < pooled_upto:
                axes[0].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fc=color, alpha=0.3))
                outline(axes[1], (i_, j_, 1, 1), color=color, lw=lw)
                outline(axes[2], (i_, j_, 1, 1), color=color, lw=lw)
            if n < written:
                outline(axes[3], (r, c, 1, 1), color=color, lw=lw)
        caption = {"start": "max pooling, 2×2 windows",
                   "pool": "each window: its maximum and its switch (flat index h·W + v)",
                   "zeros": "unpooling starts from a map of zeros",
                   "unpool": "each value goes back to its switch"}[stage]
        fig.suptitle(caption, fontsize=10, y=0.04, va="bottom")

    draw(0)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return animation(fig, draw, len(frames), interval=900)


def image_grid(panels, columns=3, cmap="magma", vmin=None, vmax=None, symmetric=False,
               size=1.8):
    """Small images in a grid of ``columns``: ``panels`` is a list of (title, 2-D array)."""
    count = len(panels)
    n_rows = -(-count // columns)
    fig, axes = plt.subplots(n_rows, columns, figsize=(size * columns, (size + 0.35) * n_rows))
    axes = np.atleast_1d(axes).ravel()
    for ax, (title, picture) in zip(axes, panels):
        picture = as_numpy(picture)
        if symmetric:
            limit = float(abs(picture).max()) or 1.0
            ax.imshow(picture, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(picture, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize=9)
        bare(ax)
    for ax in axes[count:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
