"""Figures shared by the book's chapters.

Every figure in the book is drawn on build by code; the helpers that more than one chapter needs
live here (d2l-style) so that no chapter copies another's plotting code.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle


def show_grid(ax, values, title=None, highlight=None, cmap="Blues", fmt="{:g}",
              fontsize=10, vmin=None, vmax=None, highlight_color="crimson"):
    """Draw a small 2-D array as a grid of cells with each value written in its cell.

    Args:
        ax: the matplotlib Axes to draw on.
        values: a 2-D array-like (NumPy array or torch tensor on any device).
        title: optional title above the grid.
        highlight: optional list of (row, col, height, width) rectangles outlined in red, e.g. the
            window that produces one output element.
        fmt: format string for the numbers written in the cells.

    Returns:
        The Axes, with ticks removed and the aspect set so that cells are square.
    """
    array = _as_numpy(values)
    if array.ndim != 2:
        raise ValueError(f"show_grid needs a 2-D array, got shape {array.shape}")
    ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax)
    rows, cols = array.shape
    mid = (np.nanmax(array) + np.nanmin(array)) / 2 if array.size else 0
    for r in range(rows):
        for c in range(cols):
            value = array[r, c]
            color = "white" if cmap == "Blues" and value > mid and np.nanmax(array) > 0 else "black"
            ax.text(c, r, fmt.format(value), ha="center", va="center", fontsize=fontsize, color=color)
    for (r, c, h, w) in highlight or []:
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, lw=2.5, ec=highlight_color))
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="grey", lw=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    if title:
        ax.set_title(title)
    return ax


def grid_row(panels, titles=None, figsize_per_panel=2.6, **kwargs):
    """Draw several small arrays side by side with `show_grid` and return the Figure.

    Args:
        panels: a list of 2-D arrays.
        titles: optional list of titles, one per panel.
        kwargs: passed to `show_grid` for every panel.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(figsize_per_panel * len(panels), figsize_per_panel))
    axes = np.atleast_1d(axes)
    for i, (ax, panel) in enumerate(zip(axes, panels)):
        show_grid(ax, panel, title=titles[i] if titles else None, **kwargs)
    fig.tight_layout()
    return fig


def _as_numpy(values):
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return np.asarray(values)


# --- Added for chapter 1 (cross-correlation, padding, stride) --------------------------------

WINDOW_COLORS = ("crimson", "darkorange", "forestgreen", "purple")


def outline(ax, rect, color="crimson", ls="-", lw=2.5):
    """Outline the cells (row, col, height, width) of a grid drawn by `show_grid`."""
    r, c, h, w = rect
    ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, lw=lw, ec=color, ls=ls))
    return ax


def grid_row_scaled(panels, titles=None, cell_size=0.5, **kwargs):
    """Like `grid_row`, but every panel is drawn at the same cell size, so a small kernel looks
    small next to a large input. Returns (fig, axes)."""
    arrays = [_as_numpy(a) for a in panels]
    widths = [max(a.shape[1], 1.5) for a in arrays]
    height = max(a.shape[0] for a in arrays)
    fig, axes = plt.subplots(1, len(arrays), gridspec_kw={"width_ratios": widths},
                             figsize=(cell_size * (sum(widths) + len(arrays)), cell_size * height + 0.6))
    axes = np.atleast_1d(axes)
    for i, (ax, array) in enumerate(zip(axes, arrays)):
        show_grid(ax, array, title=titles[i] if titles else None, **kwargs)
    fig.tight_layout()
    return fig, axes


def show_correlation(x, k, y, outputs=((0, 0),), stride=1, titles=None, inner=None,
                     cell_size=0.5, **kwargs):
    """Input, kernel and output side by side: each chosen output cell and the window of the
    input that produces it are outlined in the same colour.

    Args:
        x: the (already padded) 2-D input that the kernel slides over.
        k: the 2-D kernel.
        y: the 2-D output.
        outputs: list of (i, j) output positions to explain; colours cycle through WINDOW_COLORS.
        stride: an int or a pair (vertical, horizontal): output (i, j) reads the window whose
            top-left corner is x[i * sv, j * sh].
        titles: three titles (input, kernel, output).
        inner: optional (row, col, height, width) drawn dashed on the input, e.g. the region
            that was there before padding.
        kwargs: passed to `show_grid` for every panel.
    """
    sv, sh = (stride, stride) if isinstance(stride, int) else stride
    fig, axes = grid_row_scaled([x, k, y], titles=titles or ("input", "kernel", "output"),
                                cell_size=cell_size, **kwargs)
    kh, kw = _as_numpy(k).shape
    for n, (i, j) in enumerate(outputs):
        color = WINDOW_COLORS[n % len(WINDOW_COLORS)]
        outline(axes[0], (i * sv, j * sh, kh, kw), color=color)
        outline(axes[2], (i, j, 1, 1), color=color)
    if inner is not None:
        outline(axes[0], inner, color="black", ls="--", lw=1.5)
    if len(outputs) == 1:
        outline(axes[1], (0, 0, kh, kw), color=WINDOW_COLORS[0])
    return fig
