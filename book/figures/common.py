"""What several chapters draw alike: grids of numbered cells, outlined windows, tables, and
the rules every figure keeps.

Every figure in the book is drawn on build by code; the helpers that more than one chapter
needs live here (d2l-style), so that no chapter copies another's plotting code.

The rules, for a reader with a 1280 px window, where the page shows a figure at most `COLUMN_PX`
pixels wide (measured in the built book; a wider PNG is shrunk to fit):

* titles, axis labels and tick labels are at least `MIN_TEXT_PX` pixels tall as the figure is
  shown. `readable` raises smaller ones to that size; `figure` applies it to every figure a
  chapter module returns, and `animate.light_png` to every figure it embeds; `check_readable`
  then checks them, and the first frame of every `animate.animation`: a figure that breaks
  the rule stops the build and names its text.
* signed values are drawn with `DIVERGING` only, red positive, blue negative, white at 0, on
  limits symmetric about 0 (`symmetric_limits`); values that are compared share one scale and
  one colour bar (`colorbar`).
"""
from __future__ import annotations

import functools
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = ["COLUMN_PX", "MIN_TEXT_PX", "DIVERGING", "readable", "small_text", "check_readable",
           "figure",
           "symmetric_limits", "colorbar", "WINDOW_COLORS", "as_numpy", "markdown_table", "bare", "cell_grid", "show_grid",
           "outline", "grid_row_scaled", "show_correlation", "partial_grid", "grid_figure",
           "cell_panels", "PADDING_STYLE", "mark_padding", "padding_legend"]

COLUMN_PX = 660          # the widest a figure is shown in a 1280 px window (CSS pixels)
MIN_TEXT_PX = 11         # the smallest title, label or tick label a reader should have to read
DIVERGING = "RdBu_r"     # signed values: red positive, blue negative, white 0

# Cells that padding added: grey and hatched, so that they do not read as data.
PADDING_STYLE = {"fc": "#e3e3e3", "ec": "#9a9a9a", "hatch": "///", "lw": 0.0}

# The windows of one figure, in order: a window and the output it makes share a colour.
WINDOW_COLORS = ("crimson", "darkorange", "forestgreen", "purple")


# --- the rules ------------------------------------------------------------------------------

def _labels(fig):
    """The titles, axis labels, tick labels and legend texts of ``fig`` (drawn once, so that
    tick labels hold their text)."""
    fig.canvas.draw()
    texts = [fig._suptitle, fig._supxlabel, fig._supylabel]
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title]
        for axis in ax._axis_map.values():
            texts.append(axis.label)
            texts += [tick.label1 for tick in axis.get_major_ticks() if tick.label1.get_visible()]
            texts += [tick.label2 for tick in axis.get_major_ticks() if tick.label2.get_visible()]
        legend = ax.get_legend()
        if legend is not None:
            texts += legend.get_texts()
    for legend in fig.legends:
        texts += legend.get_texts()
    return [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]


def _pixels_per_point(fig, dpi, tight):
    """How many screen pixels a point of text takes in ``fig`` as the page shows it."""
    width = fig.get_figwidth()
    if tight:
        width = fig.get_tightbbox(fig.canvas.get_renderer()).width + 0.2   # inches, padded
    return dpi / 72 * min(1.0, COLUMN_PX / (width * dpi))


def readable(fig, dpi=100, tight=True):
    """Set every title, axis label, tick label and legend text of ``fig`` that would be shown
    smaller than `MIN_TEXT_PX` to that size, and lay the figure out again; return ``fig``.

    The book's one font-size rule: helpers draw at the sizes that suit the figure, and this
    raises whatever a reader could not read once the page has shrunk the figure to fit."""
    for _ in range(3):                        # larger text widens the figure a little
        labels = _labels(fig)                 # drawn first: the layout sets the width
        smallest = (MIN_TEXT_PX + 0.2) / _pixels_per_point(fig, dpi, tight)
        small = [t for t in labels if t.get_fontsize() < smallest]
        if not small:
            break
        for text in small:
            text.set_fontsize(smallest)
        engine = fig.get_layout_engine()
        if engine is not None:
            engine.execute(fig)
        elif all(ax.get_subplotspec() is not None for ax in fig.axes):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fig.tight_layout()
    return fig


def small_text(fig, dpi=100, tight=True):
    """[(text, pixels)]: the titles, axis labels and tick labels of ``fig`` that a reader sees
    smaller than `MIN_TEXT_PX` when it is saved at ``dpi`` (cropped to its content with
    ``tight``, as a notebook and `animate.light_png` save it) and shown in the text column."""
    labels = _labels(fig)
    pixels_per_point = _pixels_per_point(fig, dpi, tight)
    return [(t.get_text(), t.get_fontsize() * pixels_per_point) for t in labels
            if t.get_fontsize() * pixels_per_point < MIN_TEXT_PX - 0.05]


def check_readable(fig, dpi=100, tight=True):
    """Raise ValueError naming every title, label or tick label of ``fig`` that would be shown
    smaller than `MIN_TEXT_PX` (see `small_text`); return ``fig``."""
    problems = small_text(fig, dpi, tight)
    if problems:
        plt.close(fig)
        listed = "; ".join(f"{text!r} {px:.1f} px" for text, px in problems[:8])
        raise ValueError(f"text smaller than {MIN_TEXT_PX} px at 1280 px "
                         f"({fig.get_figwidth():.1f} in wide at {dpi} dpi): {listed}")
    return fig


def figure(draw):
    """Decorate a function that returns a Figure (or a tuple holding one), which a notebook
    shows at the figure's own dpi: its text is made `readable`, and must then pass
    `check_readable`. Anything else it returns (a player, a PNG) was checked where it was
    made (`animate`)."""
    @functools.wraps(draw)
    def checked(*args, **kwargs):
        result = draw(*args, **kwargs)
        for fig in result if isinstance(result, tuple) else (result,):
            if isinstance(fig, Figure):
                check_readable(readable(fig, dpi=fig.dpi), dpi=fig.dpi)
        return result
    checked.checks_text = True
    return checked


def symmetric_limits(*arrays):
    """{"vmin": -m, "vmax": m}, m the largest magnitude in ``arrays``: 0 sits at the middle of
    `DIVERGING` (white) whatever the values, and panels given the same limits compare."""
    largest = max(float(np.nanmax(np.abs(as_numpy(a)))) for a in arrays)
    largest = largest or 1.0
    return {"vmin": -largest, "vmax": largest}


def colorbar(fig, image, axes, label=None, ticks=None, ticklabels=None, **kwargs):
    """One colour bar for the panels ``axes`` that share the scale of ``image`` (what imshow
    returned), at the font size of tick labels."""
    bar = fig.colorbar(image, ax=axes, **{"shrink": 0.85, "pad": 0.03, **kwargs})
    if ticks is not None:
        bar.set_ticks(ticks, labels=ticklabels)
    if label:
        bar.set_label(label)
    return bar


def as_numpy(values):
    """``values`` (a tensor on any device, or anything NumPy reads) as a NumPy array."""
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def markdown_table(header, rows, align=None):
    """A Markdown table (a string) from a header row and rows of cells (anything `str`
    accepts). ``align`` is one character per column: ``l`` (the default), ``r`` or ``c``."""
    align = align or "l" * len(header)
    rule = {"l": "---", "r": "---:", "c": ":-:"}
    lines = ["| " + " | ".join(map(str, header)) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def bare(*axes):
    """Remove the ticks of every Axes given."""
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])


def cell_grid(ax, rows, cols, color="grey"):
    """Lines between the cells of a ``rows`` x ``cols`` image, and no tick labels."""
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color=color, lw=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)


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
    array = as_numpy(values)
    if array.ndim != 2:
        raise ValueError(f"show_grid needs a 2-D array, got shape {array.shape}")
    image = ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax)
    rows, cols = array.shape
    mid = (np.nanmax(array) + np.nanmin(array)) / 2 if array.size else 0
    for r in range(rows):
        for c in range(cols):
            value = array[r, c]
            if cmap == "Blues":
                dark = value > mid and np.nanmax(array) > 0
            else:                             # white numbers on dark cells of any map
                red, green, blue, _ = image.cmap(image.norm(value))
                dark = np.isfinite(value) and 0.3 * red + 0.59 * green + 0.11 * blue < 0.45
            ax.text(c, r, fmt.format(value), ha="center", va="center", fontsize=fontsize,
                    color="white" if dark else "black")
    for (r, c, h, w) in highlight or []:
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, lw=2.5, ec=highlight_color))
    cell_grid(ax, rows, cols)
    if title:
        ax.set_title(title)
    return ax


def outline(ax, rect, color="crimson", ls="-", lw=2.5):
    """Outline the cells (row, col, height, width) of a grid drawn by `show_grid`."""
    r, c, h, w = rect
    ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, lw=lw, ec=color, ls=ls))
    return ax


@figure
def grid_row_scaled(panels, titles=None, cell_size=0.5, **kwargs):
    """Small arrays side by side with `show_grid`, every panel at the same cell size, so a
    small kernel looks small next to a large input. Returns (fig, axes)."""
    arrays = [as_numpy(a) for a in panels]
    widths = [max(a.shape[1], 1.5) for a in arrays]
    height = max(a.shape[0] for a in arrays)
    fig, axes = plt.subplots(1, len(arrays), gridspec_kw={"width_ratios": widths},
                             figsize=(cell_size * (sum(widths) + len(arrays)), cell_size * height + 0.6))
    axes = np.atleast_1d(axes)
    for i, (ax, array) in enumerate(zip(axes, arrays)):
        show_grid(ax, array, title=titles[i] if titles else None, **kwargs)
    fig.tight_layout()
    return fig, axes


def mark_padding(ax, shape, inner):
    """Draw the cells of a ``shape`` grid (drawn by `show_grid`) outside ``inner`` (row, col,
    height, width: the input before padding) in `PADDING_STYLE`, their numbers grey."""
    rows, cols = shape
    r0, c0, h, w = inner
    for r in range(rows):
        for c in range(cols):
            if not (r0 <= r < r0 + h and c0 <= c < c0 + w):
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, zorder=1.5, **PADDING_STYLE))
    for text in ax.texts:
        c, r = text.get_position()
        if not (r0 <= r < r0 + h and c0 <= c < c0 + w):
            text.set_color("#6a6a6a")
    return ax


def padding_legend(fig, data="input"):
    """A legend under ``fig``: padding cells (`mark_padding`) and the ``data`` cells."""
    from matplotlib.patches import Patch
    handles = [Patch(fc="white", ec="grey", label=data),
               Patch(label="padding (zeros)", **{**PADDING_STYLE, "lw": 0.5})]
    return fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                      ncol=2, frameon=False, fontsize=10)


@figure
def show_correlation(x, k, y, outputs=((0, 0),), stride=1, titles=None, inner=None,
                     cell_size=0.5, padding=False, **kwargs):
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
        padding: with ``inner``, draw the cells outside it as padding (`mark_padding`).
        kwargs: passed to `show_grid` for every panel.
    """
    sv, sh = (stride, stride) if isinstance(stride, int) else stride
    fig, axes = grid_row_scaled([x, k, y], titles=titles or ("input", "kernel", "output"),
                                cell_size=cell_size, **kwargs)
    kh, kw = as_numpy(k).shape
    for n, (i, j) in enumerate(outputs):
        color = WINDOW_COLORS[n % len(WINDOW_COLORS)]
        outline(axes[0], (i * sv, j * sh, kh, kw), color=color)
        outline(axes[2], (i, j, 1, 1), color=color)
    if inner is not None:
        outline(axes[0], inner, color="black", ls="--", lw=1.5)
        if padding:
            mark_padding(axes[0], as_numpy(x).shape, inner)
    if len(outputs) == 1:
        outline(axes[1], (0, 0, kh, kw), color=WINDOW_COLORS[0])
    return fig


def partial_grid(ax, values, title, lo, hi):
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
    shapes = [[as_numpy(a).shape for a, _, _, _ in row] for row in items]
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


def cell_panels(widths, height, cell=0.42, top=0.75):
    """A row of axes whose cells all have the same size on screen: ``widths`` in cells, one
    per panel, ``height`` in cells. Returns (fig, axes)."""
    fig, axes = plt.subplots(1, len(widths), gridspec_kw={"width_ratios": widths},
                             figsize=(cell * (sum(widths) + 1.5 * len(widths)),
                                      cell * height + top))
    return fig, np.atleast_1d(axes)
