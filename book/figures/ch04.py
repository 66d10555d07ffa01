"""Chapter 4 (dilated convolution and receptive fields): the receptive-field functions
the pages reuse, figures and the growing footprint.

Everything here only *draws* or *formats* numbers that the pages compute and check; no
helper decides a fact.
"""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle

from .animate import animation, light_png
from .common import bare, cell_grid, figure, show_grid

__all__ = ["receptive_fields", "gradient_footprint", "measured_rf", "no_holes", "taps_figure",
           "receptive_field_animation", "rf_growth_figure", "gridding_figure",
           "causal_stack_figure", "geometry_figure", "erf_figure"]


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


@figure
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


@figure
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
    cell_grid(ax, size, size, color="lightgrey")
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
    return animation(fig, draw, len(frames), interval=1100, dpi=90)


@figure
def rf_growth_figure(sides, depths, footprint):
    """Left: receptive field against depth for each family of stacks (log scale). Right: the
    gradient footprint of one unit of a dilated stack, coloured by the number of paths."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.7),
                                   gridspec_kw={"width_ratios": [1.1, 1]})
    # A family whose values equal an earlier one's is drawn thinner, dashed, with small
    # filled markers, over the earlier one's wide line and large open markers: both show.
    styles = [dict(marker="o", ms=6, lw=1.8), dict(marker="o", ms=11, lw=5, mfc="none",
                                                    alpha=0.45),
              dict(marker="s", ms=5, lw=1.5, ls="--")]
    names = list(sides)
    for n, (name, values) in enumerate(sides.items()):
        same = [other for other in names[:n] if list(sides[other]) == list(values)]
        label = name + (f"\n(the same values as {same[0].split(' (')[0]})" if same else "")
        ax0.plot(list(depths), values, label=label, color=f"C{n}", zorder=2 + n,
                 **styles[n % len(styles)])
    ax0.set_yscale("log", base=2)
    ax0.set_ylim(top=8 * max(max(values) for values in sides.values()))   # room for the legend
    ax0.set_xlabel("number of 3×3 layers")
    ax0.set_ylabel("receptive field (pixels, log scale)")
    ax0.legend(fontsize=10)
    ax0.grid(alpha=0.3)
    nz = (footprint != 0).nonzero()
    (r0, c0), (r1, c1) = nz.min(0).values.tolist(), nz.max(0).values.tolist()
    crop = footprint[r0 - 2:r1 + 3, c0 - 2:c1 + 3].numpy()
    im = ax1.imshow(np.ma.masked_equal(crop, 0), cmap="viridis")
    ax1.set_facecolor("white")
    ax1.set_title(f"dilations 1, 2, 4, 8: footprint {r1 - r0 + 1}×{c1 - c0 + 1}",
                  fontsize=10)
    bare(ax1)
    fig.colorbar(im, ax=ax1, label="paths to the output unit", shrink=0.85)
    fig.tight_layout()
    return fig


@figure
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
        cell_grid(ax, *crop.shape, color="lightgrey")
        side, count = coverage[name]
        ax.set_title(f"dilations {name}\nreads {count} of {side}×{side} pixels", fontsize=10)
    fig.tight_layout()
    return fig


@figure
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


@figure
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


@figure
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
        bare(ax)
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
