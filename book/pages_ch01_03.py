"""Figures, moving pictures and tables of chapters 1 to 3, kept out of the pages.

The pages call these from hidden cells: a reader sees the teaching code, and every
figure and table is still drawn on build from the numbers the page computed. Figures are
kept at most about 6.7 inches wide (the text column at 1280 px), so no figure is
shrunk until its numbers cannot be read; wider layouts are drawn as grids. Pictures are
saved as 64-colour PNGs, and so are the frames of the moving pictures, to keep the pages
light.
"""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from animate import animation, light_png  # noqa: F401 - light_png is re-exported
from course_plots import WINDOW_COLORS, outline, show_grid

__all__ = [
    "light_png", "grid_figure", "markdown_table",
    "stripe_figure", "padding_figure", "sliding_window_animation",
    "dropped_window_figure", "channels_sum_animation", "receptive_patch_figure",
    "pooling_figure", "maxout_figure",
    "slices_figure", "volumes_figure", "cost_figure",
]

RED, ORANGE = WINDOW_COLORS[0], WINDOW_COLORS[1]


def _as_numpy(values):
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def markdown_table(header, rows, align=None):
    """A Markdown table from a header and rows of cells (anything with a str)."""
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def _partial_grid(ax, values, title, lo, hi):
    """A grid whose NaN cells (outputs not computed yet) stay blank, on a fixed
    colour scale light enough for black numbers: a cell keeps its colour as it fills."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # an all-NaN grid is fine
        show_grid(ax, values, title=title, fontsize=9, cmap=plt.get_cmap("Blues"),
                  vmin=lo, vmax=hi + 0.6 * (hi - lo))
    for text in ax.texts:
        if text.get_text() == "nan":
            text.set_text("")


def grid_figure(rows, cell=0.42, hgap=0.3, vgap=0.45, margin=0.12, slot=None):
    """Grids of cells at one cell size, laid out in rows: ``rows`` is a list of rows,
    each a list of ``(array, title, kwargs for show_grid)``. Every cell is ``cell``
    inches square, whatever the shape of its array, so a small kernel looks small next
    to its input.

    With ``slot`` (a width in cells), panels sit in columns of that width: an item may
    add a fourth element, its column (a float: 0.5 centres it between the first two).
    Returns (fig, axes), axes a list of rows.
    """
    items = [[(*item, n)[:4] for n, item in enumerate(row)] for row in rows]
    shapes = [[_as_numpy(a).shape for a, _, _, _ in row] for row in items]
    if slot is None:
        lefts = [[sum(w for _, w in row[:n]) * cell + hgap * n for n in range(len(row))]
                 for row in shapes]
    else:
        lefts = [[col * (slot * cell + hgap) + (slot - w) * cell / 2
                  for (_, _, _, col), (_, w) in zip(row, row_shapes)]
                 for row, row_shapes in zip(items, shapes)]
    widths = [left[-1] + row[-1][1] * cell for left, row in zip(lefts, shapes)]
    heights = [max(h for h, _ in row) * cell for row in shapes]
    fig_w = max(widths) + 2 * margin
    fig_h = sum(heights) + vgap * len(rows) + margin
    fig = plt.figure(figsize=(fig_w, fig_h))
    axes, top = [], fig_h - vgap
    for row, row_shapes, row_lefts, row_h in zip(items, shapes, lefts, heights):
        row_axes = []
        for (array, title, kwargs, _), (h, w), left in zip(row, row_shapes, row_lefts):
            rect = ((margin + left) / fig_w, (top - h * cell) / fig_h, w * cell / fig_w,
                    h * cell / fig_h)
            ax = fig.add_axes(rect)
            show_grid(ax, array, title=title, **{"fontsize": 9, **kwargs})
            ax.title.set_fontsize(9)
            row_axes.append(ax)
        axes.append(row_axes)
        top -= row_h + vgap
    return fig, axes


# --- Chapter 1 ------------------------------------------------------------------------

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
    x, w = _as_numpy(x), _as_numpy(w)
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
        _partial_grid(axes[2], filled, f"output, stride {s}", lo, hi)
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


# --- Chapter 2 ------------------------------------------------------------------------

def channels_sum_animation(x, w, dpi=90):
    """Per-channel correlations adding up into one output map.

    For each output position, one frame per input channel (its window times its kernel)
    and a last frame where their sum is written into the single output map. Returns the
    player, the per-channel maps and the output.
    """
    x, w = _as_numpy(x), _as_numpy(w)
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
            _partial_grid(axes[c][2], done, rf"$x[{c}] \star w[{c}]$", lo, hi)
            if active:
                color = WINDOW_COLORS[c % len(WINDOW_COLORS)]
                outline(axes[c][0], (i, j, kh, kw), color=color)
                outline(axes[c][1], (0, 0, kh, kw), color=color)
                outline(axes[c][2], (i, j, 1, 1), color=color, lw=3)
        filled = np.full_like(y, np.nan)
        filled.flat[:position] = y.flat[:position]
        if step == c_in:
            filled[i, j] = y[i, j]
        _partial_grid(out_ax, filled, "output $y$", lo, hi)
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


def receptive_patch_figure(seen1, seen2):
    fig, _ = grid_figure([[(seen1, "read by one output\nof layer 1", {"fontsize": 7}),
                           (seen2, "read by one output\nof layer 2", {"fontsize": 7})]],
                         cell=0.3, hgap=0.6, vgap=0.6)
    return fig


def pooling_figure(fmap, max_out, avg_out, k=2):
    row = [(fmap, "feature map", {}), (max_out, f"{k}×{k} max", {}),
           (avg_out, f"{k}×{k} average", {})]
    fig, (axes,) = grid_figure([row], cell=0.42, hgap=0.5)
    rows, cols = _as_numpy(max_out).shape
    for n in range(rows * cols):
        i, j = divmod(n, cols)
        color = WINDOW_COLORS[n % len(WINDOW_COLORS)]
        outline(axes[0], (k * i, k * j, k, k), color=color)
        outline(axes[1], (i, j, 1, 1), color=color)
        outline(axes[2], (i, j, 1, 1), color=color)
    return fig


def maxout_figure(feats, spatial, maxout, k=2):
    """Max pooling within each map (middle row), maxout across maps (bottom row)."""
    feats, spatial, maxout = _as_numpy(feats), _as_numpy(spatial), _as_numpy(maxout)
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


# --- Chapter 3 ------------------------------------------------------------------------

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
