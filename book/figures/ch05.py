"""Chapter 5 (grouped, depthwise and separable convolution; factorised layers): figures."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle

from .common import DIVERGING, figure, show_grid

__all__ = ["connections_figure", "svd_figure", "shuffle_figure", "shuffle_connections_figure",
           "composed_slice_figure", "low_rank_figure", "zoo_figure"]


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


@figure
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


@figure
def svd_figure(kernels, svals, tol, floor=1e-12):
    """Top: each kernel; bottom: its singular values relative to the largest, on a log scale,
    with the tolerance dashed."""
    fig, axes = plt.subplots(2, len(kernels), figsize=(10, 3.6),
                             gridspec_kw={"height_ratios": [1, 1.1]})
    for (name, kern), ax_k, ax_s in zip(kernels.items(), axes[0], axes[1]):
        show_grid(ax_k, kern, title=name, cmap=DIVERGING, fmt="{:.3g}", fontsize=9,
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
    fig.legend(*axes[1, 0].get_legend_handles_labels(), loc="upper center",
               bbox_to_anchor=(0.5, 0.0), frameon=False, fontsize=10)
    fig.tight_layout()
    return fig


@figure
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


@figure
def shuffle_connections_figure(panels):
    """``panels``: {title: boolean (C_out, C_in) matrix}, side by side."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6, 2.9))
    for ax, (title, mask) in zip(axes, panels.items()):
        _channel_matrix(ax, mask, title=title)
        ax.set_xlabel("input channel", fontsize=9)
    axes[0].set_ylabel("output channel", fontsize=9)
    fig.tight_layout()
    return fig


@figure
def composed_slice_figure(columns, rows, total):
    """Each intermediate channel m contributes column m times row m; their sum is the slice."""
    n = len(columns)
    fig, axes = plt.subplots(1, n + 1, figsize=(1.45 * (n + 1), 2.5))
    limit = max(float(total.abs().max()), 1e-9)
    for m, ax in enumerate(axes[:-1]):
        term = torch.outer(columns[m], rows[m])
        show_grid(ax, term, cmap=DIVERGING, fmt="{:.1f}", fontsize=7, vmin=-limit,
                  vmax=limit, title=f"$m = {m}$")
    show_grid(axes[-1], total, cmap=DIVERGING, fmt="{:.1f}", fontsize=7, vmin=-limit,
              vmax=limit, title="sum: $w[o, c]$")
    fig.tight_layout()
    return fig


@figure
def low_rank_figure(kernel, approx):
    """A kernel, its best rank-1 approximation and the difference."""
    limit = float(kernel.abs().max())
    fig, axes = plt.subplots(1, 3, figsize=(6.6, 2.5))
    for ax, (title, values) in zip(axes, [("kernel", kernel), ("best rank 1", approx),
                                          ("difference", kernel - approx)]):
        show_grid(ax, values, title=title, cmap=DIVERGING, fmt="{:.2f}", fontsize=8,
                  vmin=-limit, vmax=limit)
    fig.tight_layout()
    return fig


@figure
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


