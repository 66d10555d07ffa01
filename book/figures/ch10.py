"""Chapter 10 (a network from your own layers; the decoder): figures, tables and the
shared set-up.

``digits_split`` and ``conv_same`` repeat, for the decoder page, what the network page builds
in the open.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from .animate import light_png
from .common import (DIVERGING, as_numpy, bare, colorbar, figure, markdown_table,
                     symmetric_limits)

__all__ = ["digits_split", "conv_same", "digits_figure", "training_figure", "layer_table",
           "kernels_figure", "flat_init_figure", "trained_figure", "memory_figure"]


def digits_split():
    """scikit-learn's digits in [0, 1], split 3:1 as on the network page."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16
    labels = torch.tensor(digits.target)
    train_idx, test_idx = train_test_split(list(range(len(labels))), test_size=0.25,
                                           random_state=0, stratify=digits.target)
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]


def conv_same(x, weight, bias):
    """'Same' convolution (stride 1, odd kernel): im2col, then one matrix product."""
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    columns = F.unfold(x, (kh, kw), padding=(kh // 2, kw // 2))
    out = weight.reshape(c_out, -1) @ columns + bias[:, None]
    return out.reshape(n, c_out, h, w)


@figure
def digits_figure(x_train, y_train):
    """Two training images of every digit."""
    fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
    for digit in range(10):
        examples = x_train[y_train == digit]
        for row in range(2):
            axes[row, digit].imshow(examples[row, 0], cmap="gray_r", vmin=0, vmax=1)
        axes[0, digit].set_title(str(digit))
    bare(*axes.flat)
    fig.tight_layout()
    return light_png(fig)


@figure
def training_figure(history, floor=0.95):
    """Loss of the last batch and test accuracy, per epoch."""
    epochs = range(1, len(history) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 2.8))
    ax_loss.plot(epochs, [l for l, _ in history], marker="o")
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel="epoch", ylabel="loss of the last batch")
    ax_acc.plot(epochs, [a for _, a in history], marker="o", c="tab:green")
    ax_acc.axhline(floor, color="grey", ls="--", lw=1)
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0.6, 1.0))
    fig.tight_layout()
    return light_png(fig)


def layer_table(modules, x):
    """A Markdown table: each layer of ``modules``, its output shape on ``x``, its
    parameter count; and the total."""
    rows, h = [["input", tuple(x.shape), ""]], x
    for layer in modules:
        h = layer(h)
        count = sum(p.numel() for p in layer.parameters())
        rows.append([f"`{layer}`", tuple(h.shape), count if count else ""])
    rows.append(["total", "", f"{sum(p.numel() for p in modules.parameters()):,}"])
    return markdown_table(["layer", "output shape", "parameters"], rows, align="llr")


@figure
def kernels_figure(kernels, sample, label, maps):
    """The first-layer kernels (top) and their feature maps for one digit (bottom)."""
    fig, axes = plt.subplots(2, 9, figsize=(10, 2.6))
    axes[0, 0].imshow(sample, cmap="gray_r")
    axes[0, 0].set_title(f"digit {label}", fontsize=10)
    axes[1, 0].axis("off")
    for k in range(len(kernels)):
        limit = kernels[k].abs().max()
        axes[0, k + 1].imshow(kernels[k], cmap=DIVERGING, vmin=-limit, vmax=limit)
        axes[0, k + 1].set_title(f"kernel {k}", fontsize=10)
        axes[1, k + 1].imshow(maps[k], cmap="gray_r")
    bare(*axes.flat)
    fig.tight_layout()
    return light_png(fig)


def _deviations(outputs, level, border):
    """Each 2-D output on a constant input ``level`` as its difference from the mean of its
    middle (``border`` pixels in from every side, where the page measures the checkerboard),
    in % of ``level``; and the limits, symmetric about 0, of the middles of them all."""
    shown = {}
    for title, picture in outputs.items():
        picture = as_numpy(picture)
        middle = picture[border:-border, border:-border]
        shown[title] = 100 * (picture - middle.mean()) / level
    limits = symmetric_limits(*(d[border:-border, border:-border] for d in shown.values()))
    return shown, limits


DEVIATION_LABEL = "output − mean of its middle,\n% of the constant input"


@figure
def flat_init_figure(outputs, level, border):
    """``outputs``: (title, 2-D output on a constant input ``level``) pairs, side by side on
    one colour scale: each pixel's difference from the mean of the middle (see
    `_deviations`), so that a flat output is white and a checkerboard stands out."""
    shown, limits = _deviations(dict(outputs), level, border)
    fig, axes = plt.subplots(1, len(outputs), figsize=(10, 3.1), layout="constrained")
    for ax, (title, picture) in zip(axes, shown.items()):
        image = ax.imshow(picture, cmap=DIVERGING, **limits)
        ax.set_title(title, fontsize=10)
    bare(*axes)
    colorbar(fig, image, list(axes), label=DEVIATION_LABEL, extend="both", shrink=0.9)
    return light_png(fig, colors=256)          # a smooth colour bar


@figure
def trained_figure(rows, flat_outputs, level, border):
    """``rows``: (title, (K, 1, H, W) pictures); ``flat_outputs``: title -> 2-D output
    on a constant input ``level``, drawn in an extra column for the rows that have one, on
    one colour scale (see `flat_init_figure`)."""
    n = len(rows[0][1])
    shown, limits = _deviations(flat_outputs, level, border)
    fig, axes = plt.subplots(len(rows), n + 2, figsize=(10, 1.7 * len(rows)),
                             layout="constrained")
    for r, (title, pictures) in enumerate(rows):
        axes[r, 0].text(0.5, 0.5, title, ha="center", va="center", fontsize=13)
        axes[r, 0].axis("off")
        for c, picture in enumerate(pictures):
            axes[r, c + 1].imshow(picture[0], cmap="gray_r", vmin=0, vmax=1)
        if title in shown:
            image = axes[r, -1].imshow(shown[title], cmap=DIVERGING, **limits)
        else:
            axes[r, -1].axis("off")
    flat_rows = [r for r, (title, _) in enumerate(rows) if title in shown]
    axes[flat_rows[0], -1].set_title("constant input", fontsize=10)
    bare(*axes[:, 1:].flat)
    colorbar(fig, image, [axes[r, -1] for r in flat_rows], label=DEVIATION_LABEL,
             extend="both", shrink=0.9)
    return light_png(fig, colors=256)          # a smooth colour bar


@figure
def memory_figure(names, activations, weights):
    """Output elements (per image) and weights of each weight layer, on a log scale."""
    fig, ax = plt.subplots(figsize=(8.5, 3.1))
    at = range(len(names))
    ax.bar([i - 0.2 for i in at], activations, width=0.4, color="tab:blue",
           label="activations: output elements per image")
    ax.bar([i + 0.2 for i in at], weights, width=0.4, color="tab:orange",
           label="weights")
    ax.set_yscale("log")
    ax.set_xticks(list(at))
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("elements")
    ax.legend(fontsize=8, loc="upper center", ncols=2, frameon=False,
              bbox_to_anchor=(0.5, 1.16))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return light_png(fig)
