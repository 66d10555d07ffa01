"""Figures, tables and animations of chapters 4, 5 and 8 (and the page split from chapter 5).

The pages keep their teaching code visible and call these helpers from hidden cells, so a reader
sees the convolution and not the matplotlib or Markdown that draws it. Everything here only
*draws* or *formats* numbers that the pages compute and check; no helper decides a fact.
"""
from __future__ import annotations

import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Markdown
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle

from animate import animation
from course_plots import WINDOW_COLORS, outline, show_grid

__all__ = [
    "markdown_table",
    # chapter 4
    "receptive_fields", "gradient_footprint", "measured_rf", "no_holes",
    "taps_figure", "receptive_field_animation", "rf_growth_figure", "gridding_figure",
    "causal_stack_figure",
    # chapter 5
    "connections_figure", "svd_figure", "shuffle_figure", "shuffle_connections_figure",
    "composed_slice_figure", "low_rank_figure", "zoo_figure",
    # chapter 8
    "unpooling_animation", "image_grid",
]


def markdown_table(header, rows, align=None):
    """A Markdown table from a header row and rows of cells (anything `str` accepts).

    ``align`` is one character per column: ``l`` (default), ``r`` or ``c``.
    """
    align = align or "l" * len(header)
    rule = {"l": "---", "r": "---:", "c": ":-:"}
    lines = ["| " + " | ".join(map(str, header)) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return Markdown("\n".join(lines))


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def _cell_grid(ax, rows, cols, color="lightgrey"):
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color=color, lw=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)


# --- chapter 4: dilated convolution and receptive fields -------------------------------------
# Saved copies of the receptive-field functions that 04_dilated shows and 04_dilated_stacks
# reuses (d2l-style); 04_dilated checks on build that they agree with the code it shows.

def receptive_fields(layers):
    """Receptive-field side after each layer of a stack of (k, s, d) layers."""
    r, jump, sides = 1, 1, []
    for k, s, d in layers:
        r += (k - 1) * d * jump
        jump *= s
        sides.append(r)
    return sides


def gradient_footprint(layers, size=160):
    """d(central output unit)/d(input) for a stack of all-ones, bias-free Conv2d."""
    convs = []
    for k, s, d in layers:
        conv = torch.nn.Conv2d(1, 1, k, stride=s, dilation=d, bias=False)
        torch.nn.init.ones_(conv.weight)
        convs.append(conv)
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    out = torch.nn.Sequential(*convs)(x)
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    return x.grad[0, 0]


def measured_rf(layers, size=160):
    """(side of the bounding box, number of pixels) of the non-zero gradient."""
    g = gradient_footprint(layers, size)
    rows = (g != 0).any(dim=1).nonzero().flatten()
    return int(rows[-1] - rows[0] + 1), int((g != 0).sum())


def no_holes(dilations, k=3):
    """Does a stride-1 stack of k x k layers with these dilations read every pixel?"""
    width = 1
    for d in sorted(dilations):
        if d > width:
            return False
        width += (k - 1) * d
    return True


def taps_figure(n, k, dilations):
    """For each dilation, an n x n input (cells numbered row by row) with the cells that output
    (0, 0) of a k x k convolution reads shaded (found by autograd) and its span dashed."""
    fig, axes = plt.subplots(1, len(dilations), figsize=(3.3 * len(dilations), 3.6))
    for ax, d in zip(axes, dilations):
        img = torch.zeros(n, n, requires_grad=True)
        F.conv2d(img[None, None], torch.ones(1, 1, k, k), dilation=d)[0, 0, 0, 0].backward()
        taps = (img.grad != 0).nonzero().tolist()
        assert len(taps) == k * k
        show_grid(ax, torch.arange(n * n).reshape(n, n), cmap="Greys", vmin=0, vmax=1e4,
                  fontsize=7)
        for r, c in taps:
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fc="crimson", alpha=0.35,
                                   ec="crimson", lw=2))
        span = d * (k - 1) + 1
        ax.add_patch(Rectangle((-0.5, -0.5), span, span, fill=False, ec="black", ls="--",
                               lw=1.5))
        ax.set_title(f"dilation {d}: span {span}", fontsize=10)
    fig.tight_layout()
    return fig


def receptive_field_animation(footprints, dilations, k=3):
    """Frames: one output unit, then for each layer its k x k taps (d apart) over the footprint
    so far, with the copies of it that the taps bring in (pale), then the footprint they make. ``footprints[l]`` is the (square, odd-sided) boolean
    footprint of l layers, centred; ``footprints[0]`` is the unit itself."""
    size = footprints[-1].shape[0]
    centre = size // 2
    fig, ax = plt.subplots(figsize=(4.6, 4.9))
    state = np.zeros((size, size))
    image = ax.imshow(state, cmap=ListedColormap(["white", "#c6dbef", "#3182bd"]),
                      vmin=0, vmax=2)
    _cell_grid(ax, size, size)
    title = ax.set_title("", fontsize=10)
    patches = []

    frames = [(0, "unit")]
    for layer in range(1, len(dilations) + 1):
        frames += [(layer, "taps"), (layer, "footprint")]

    def draw(i):
        layer, what = frames[i]
        for patch in patches:
            patch.remove()
        patches.clear()
        if what == "unit":
            shown = 2 * footprints[0].numpy()
            title.set_text("no layer yet: a unit is one input pixel")
        else:
            d = dilations[layer - 1]
            before, after = footprints[layer - 1].numpy(), footprints[layer].numpy()
            offsets = [d * (a - (k - 1) // 2) for a in range(k)]
            for dr, dc in itertools.product(offsets, offsets):
                patches.append(ax.add_patch(Rectangle(
                    (centre + dc - 0.5, centre + dr - 0.5), 1, 1, fill=False, ec="crimson",
                    lw=2.2)))
            if what == "taps":
                shown = np.where(before, 2, np.where(after, 1, 0))
                title.set_text(f"add layer {layer}, dilation {d}: its taps, {d} apart")
            else:
                shown = np.where(after, 2, 0)
                side = int(after.any(1).sum())
                lo = centre - side // 2 - 0.5
                patches.append(ax.add_patch(Rectangle((lo, lo), side, side, fill=False,
                                                      ec="black", ls="--", lw=1.5)))
                title.set_text(f"after {layer} layer{'s' * (layer > 1)}: "
                               f"receptive field {side}×{side}")
        image.set_data(shown)

    draw(0)
    fig.tight_layout()
    return animation(fig, draw, len(frames), interval=1100)


def rf_growth_figure(sides, depths, footprint):
    """Left: receptive field against depth for each family of stacks (log scale). Right: the
    gradient footprint of one unit of a dilated stack, coloured by the number of paths."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.7),
                                   gridspec_kw={"width_ratios": [1.1, 1]})
    for (name, values), marker in zip(sides.items(), "os^"):
        ax0.plot(list(depths), values, marker=marker, label=name,
                 ls="--" if "strided" in name else "-")
    ax0.set_yscale("log", base=2)
    ax0.set_xlabel("number of 3×3 layers")
    ax0.set_ylabel("receptive field (pixels, log scale)")
    ax0.legend(fontsize=9)
    ax0.grid(alpha=0.3)
    nz = (footprint != 0).nonzero()
    (r0, c0), (r1, c1) = nz.min(0).values.tolist(), nz.max(0).values.tolist()
    crop = footprint[r0 - 2:r1 + 3, c0 - 2:c1 + 3].numpy()
    im = ax1.imshow(np.ma.masked_equal(crop, 0), cmap="viridis")
    ax1.set_facecolor("white")
    ax1.set_title(f"dilations 1, 2, 4, 8: footprint {r1 - r0 + 1}×{c1 - c0 + 1}",
                  fontsize=10)
    _bare(ax1)
    fig.colorbar(im, ax=ax1, label="paths to the output unit", shrink=0.85)
    fig.tight_layout()
    return fig


def gridding_figure(footprints, coverage):
    """One panel per stack: its gradient footprint, cropped to the bounding box; white cells
    have no path to the output unit."""
    fig, axes = plt.subplots(1, len(footprints), figsize=(3.4 * len(footprints), 3.7))
    for ax, (name, g) in zip(axes, footprints.items()):
        nz = (g != 0).nonzero()
        (r0, c0), (r1, c1) = nz.min(0).values.tolist(), nz.max(0).values.tolist()
        crop = g[r0:r1 + 1, c0:c1 + 1].numpy()
        ax.imshow(np.ma.masked_equal(crop, 0), cmap="viridis")
        ax.set_facecolor("white")
        _cell_grid(ax, *crop.shape)
        side, count = coverage[name]
        ax.set_title(f"dilations {name}\nreads {count} of {side}×{side} pixels", fontsize=10)
    fig.tight_layout()
    return fig


def causal_stack_figure(length, dilations, active):
    """A causal stack of kernel-2 layers drawn as a graph over time; ``active[l]`` is the set
    of time steps of level l (0: input) that the last output depends on."""
    levels = len(dilations) + 1
    fig, ax = plt.subplots(figsize=(10, 3.4))
    for lev in range(1, levels):
        d = dilations[lev - 1]
        for t in range(length):
            for src in (t - d, t):
                if src >= 0:
                    hot = t in active[lev]
                    ax.plot([src, t], [lev - 1, lev], color="tab:blue" if hot else "lightgrey",
                            lw=2.2 if hot else 0.8, zorder=2 if hot else 1)
    for lev in range(levels):
        for t in range(length):
            hot = t in active[lev]
            ax.scatter(t, lev, s=60, zorder=3, color="tab:blue" if hot else "white",
                       edgecolor="tab:blue" if hot else "grey", lw=1.2)
    labels = (["input"] + [f"hidden, dilation {d}" for d in dilations[:-1]]
              + [f"output, dilation {dilations[-1]}"])
    ax.set_yticks(range(levels), labels)
    ax.set_xticks(range(length))
    ax.set_xlabel("time step $t$")
    ax.set_xlim(-0.6, length - 0.4)
    ax.set_ylim(-0.5, levels - 0.5)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    fig.tight_layout()
    return fig


# --- chapter 5: grouped, depthwise and separable convolution ---------------------------------

def _channel_matrix(ax, mask, colors=None, title=None, tick_labels=True):
    """A boolean (C_out, C_in) matrix; ``colors`` gives each connected cell's colour index."""
    values = mask.numpy().astype(int) if colors is None else np.where(mask.numpy(), colors, 0)
    palette = ["white"] + ([plt.cm.tab10(i) for i in range(8)] if colors is not None
                           else ["tab:blue"])
    ax.imshow(values, cmap=ListedColormap(palette), vmin=0, vmax=len(palette) - 1)
    rows, cols = mask.shape
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="grey", lw=0.5)
    ax.tick_params(which="both", length=0, labelsize=7)
    if not tick_labels:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def connections_figure(masks):
    """One panel per number of groups: which input channels each output channel reads,
    coloured by group."""
    fig, axes = plt.subplots(1, len(masks), figsize=(10, 3.0))
    for ax, (g, mask) in zip(axes, masks.items()):
        channels = mask.shape[0]
        group = (torch.arange(channels) // (channels // g))[:, None].numpy() + 1
        name = {1: " (standard)", channels: " (depthwise)"}.get(g, "")
        _channel_matrix(ax, mask, colors=group,
                        title=f"groups = {g}{name}\n{int(mask.sum())} connections")
        ax.set_xlabel("input channel $c$", fontsize=9)
    axes[0].set_ylabel("output channel $o$", fontsize=9)
    fig.tight_layout()
    return fig


def svd_figure(kernels, svals, tol, floor=1e-12):
    """Top: each kernel; bottom: its singular values relative to the largest, on a log scale,
    with the tolerance dashed."""
    fig, axes = plt.subplots(2, len(kernels), figsize=(10, 3.6),
                             gridspec_kw={"height_ratios": [1, 1.1]})
    for (name, kern), ax_k, ax_s in zip(kernels.items(), axes[0], axes[1]):
        show_grid(ax_k, kern, title=name, cmap="coolwarm", fmt="{:.3g}", fontsize=9,
                  vmin=-kern.abs().max(), vmax=kern.abs().max())
        rel = (svals[name] / svals[name][0]).numpy()
        ax_s.bar(range(1, 4), np.maximum(rel, floor),
                 color=["tab:blue", "tab:orange", "tab:orange"])
        for r, value in enumerate(rel):
            if value < floor:
                ax_s.text(r + 1, floor * 3, f"<{floor:.0e}", ha="center", fontsize=8)
        ax_s.axhline(tol, color="crimson", ls="--", lw=1.2, label=f"tolerance {tol:.0e}")
        ax_s.set_yscale("log")
        ax_s.set_ylim(floor, 10)
        ax_s.set_xticks(range(1, 4), [r"$\sigma_1$", r"$\sigma_2$", r"$\sigma_3$"])
    axes[1, 0].set_ylabel(r"$\sigma / \sigma_1$ (log scale)")
    axes[1, 0].legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def shuffle_figure(order, groups):
    """Channels before and after a shuffle, coloured by their group, with the groups of the
    next grouped layer dashed."""
    channels = len(order)
    m = channels // groups
    colors = [plt.cm.tab10(j) for j in range(groups)]
    fig, ax = plt.subplots(figsize=(9, 2.9))
    y_top, y_bottom = 2.2, 0.0
    for c in range(channels):
        ax.add_patch(Rectangle((c - 0.4, y_top), 0.8, 0.8, fc=colors[c // m], alpha=0.5,
                               ec="black"))
        ax.text(c, y_top + 0.4, str(c), ha="center", va="center", fontsize=10)
    for pos, src in enumerate(order):
        ax.add_patch(Rectangle((pos - 0.4, y_bottom), 0.8, 0.8, fc=colors[src // m],
                               alpha=0.5, ec="black"))
        ax.text(pos, y_bottom + 0.4, str(src), ha="center", va="center", fontsize=10)
        ax.plot([src, pos], [y_top, y_bottom + 0.8], color=colors[src // m], lw=1.2)
    for q in range(groups):
        ax.add_patch(Rectangle((q * m - 0.48, y_bottom - 0.12), m - 0.04, 1.04, fill=False,
                               ec="black", ls="--", lw=1.2))
        middle = q * m + (m - 1) / 2
        ax.text(middle, y_bottom - 0.45, f"next layer's group {q}", ha="center", fontsize=9)
        ax.text(middle, y_top + 1.05, f"group {q}", ha="center", fontsize=9, color=colors[q])
    ax.text(-0.8, y_top + 0.4, "before", ha="right", va="center", fontsize=10)
    ax.text(-0.8, y_bottom + 0.4, "after", ha="right", va="center", fontsize=10)
    ax.set_xlim(-2.2, channels)
    ax.set_ylim(-0.75, y_top + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


def shuffle_connections_figure(panels):
    """``panels``: {title: boolean (C_out, C_in) matrix}, side by side."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6, 2.9))
    for ax, (title, mask) in zip(axes, panels.items()):
        _channel_matrix(ax, mask, title=title)
        ax.set_xlabel("input channel", fontsize=9)
    axes[0].set_ylabel("output channel", fontsize=9)
    fig.tight_layout()
    return fig


def composed_slice_figure(columns, rows, total):
    """Each intermediate channel m contributes column m times row m; their sum is the slice."""
    n = len(columns)
    fig, axes = plt.subplots(1, n + 1, figsize=(1.45 * (n + 1), 2.5))
    limit = max(float(total.abs().max()), 1e-9)
    for m, ax in enumerate(axes[:-1]):
        term = torch.outer(columns[m], rows[m])
        show_grid(ax, term, cmap="coolwarm", fmt="{:.1f}", fontsize=7, vmin=-limit,
                  vmax=limit, title=f"$m = {m}$")
    show_grid(axes[-1], total, cmap="coolwarm", fmt="{:.1f}", fontsize=7, vmin=-limit,
              vmax=limit, title="sum: $w[o, c]$")
    fig.tight_layout()
    return fig


def low_rank_figure(kernel, approx):
    """A kernel, its best rank-1 approximation and the difference."""
    limit = float(kernel.abs().max())
    fig, axes = plt.subplots(1, 3, figsize=(6.6, 2.5))
    for ax, (title, values) in zip(axes, [("kernel", kernel), ("best rank 1", approx),
                                          ("difference", kernel - approx)]):
        show_grid(ax, values, title=title, cmap="coolwarm", fmt="{:.2f}", fontsize=8,
                  vmin=-limit, vmax=limit)
    fig.tight_layout()
    return fig


def zoo_figure(results, standard):
    """Weights and multiply-adds of every layer type, relative to the standard layer, on a
    log scale: one horizontal bar pair per layer."""
    names = list(results)
    weights = np.array([results[n][0] for n in names]) / results[standard][0]
    macs = np.array([results[n][1] for n in names]) / results[standard][1]
    fig, ax = plt.subplots(figsize=(9, 4.6))
    pos = np.arange(len(names))
    ax.barh(pos - 0.2, weights, height=0.38, label="weights", color="tab:blue")
    ax.barh(pos + 0.2, macs, height=0.38, label="multiply-adds", color="tab:orange")
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(pos, names)
    ax.invert_yaxis()
    ax.set_xlabel("relative to the standard 3×3 layer (log scale)")
    ax.legend(fontsize=9, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# --- chapter 8: max-unpooling -----------------------------------------------------------------

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
        picture = picture.detach().cpu() if hasattr(picture, "detach") else picture
        if symmetric:
            limit = float(abs(picture).max()) or 1.0
            ax.imshow(picture, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(picture, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize=9)
        _bare(ax)
    for ax in axes[count:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
