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
from .common import bare, markdown_table

__all__ = ["digits_split", "conv_same", "digits_figure", "training_figure",
           "layer_table", "kernels_figure", "flat_init_figure", "trained_figure"]


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


def kernels_figure(kernels, sample, label, maps):
    """The first-layer kernels (top) and their feature maps for one digit (bottom)."""
    fig, axes = plt.subplots(2, 9, figsize=(10, 2.6))
    axes[0, 0].imshow(sample, cmap="gray_r")
    axes[0, 0].set_title(f"digit {label}", fontsize=9)
    axes[1, 0].axis("off")
    for k in range(len(kernels)):
        limit = kernels[k].abs().max()
        axes[0, k + 1].imshow(kernels[k], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[0, k + 1].set_title(f"kernel {k}", fontsize=9)
        axes[1, k + 1].imshow(maps[k], cmap="gray_r")
    bare(*axes.flat)
    fig.tight_layout()
    return light_png(fig)


def flat_init_figure(outputs):
    """``outputs``: (title, 2-D output) pairs, each drawn with its own grey scale."""
    fig, axes = plt.subplots(1, len(outputs), figsize=(10, 2.9))
    for ax, (title, picture) in zip(axes, outputs):
        ax.imshow(picture, cmap="gray")
        ax.set_title(title, fontsize=9)
    bare(*axes)
    fig.tight_layout()
    return light_png(fig)


def trained_figure(rows, flat_outputs):
    """``rows``: (title, (K, 1, H, W) pictures); ``flat_outputs``: title -> 2-D output
    on a constant input, drawn in an extra column for the rows that have one."""
    n = len(rows[0][1])
    fig, axes = plt.subplots(len(rows), n + 2, figsize=(10, 1.6 * len(rows)))
    for r, (title, pictures) in enumerate(rows):
        axes[r, 0].text(0.5, 0.5, title, ha="center", va="center", fontsize=9)
        axes[r, 0].axis("off")
        for c, picture in enumerate(pictures):
            axes[r, c + 1].imshow(picture[0], cmap="gray_r", vmin=0, vmax=1)
        if title in flat_outputs:
            axes[r, -1].imshow(flat_outputs[title], cmap="gray")
        else:
            axes[r, -1].axis("off")
    first = next(r for r, (title, _) in enumerate(rows) if title in flat_outputs)
    axes[first, -1].set_title("constant input", fontsize=9)
    bare(*axes[:, 1:].flat)
    fig.tight_layout()
    return light_png(fig)
