"""Chapter 7 (gradients of a convolution): figures."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .common import (DIVERGING, WINDOW_COLORS, as_numpy, cell_panels, figure, outline,
                     show_grid)

__all__ = ["weight_grad_figure", "loss_figure"]


@figure
def weight_grad_figure(x_pad, g, grad_w, stride, taps=((0, 0), (1, 2))):
    """The weight gradient as a correlation: for each chosen tap (a, b), the input
    pixels that the upstream gradient multiplies, s apart (g dilated by the stride)."""
    x_pad, g, grad_w = (np.asarray(as_numpy(t), dtype=float)
                        for t in (x_pad, g, grad_w))
    fig, axes = cell_panels([x_pad.shape[1], g.shape[1], grad_w.shape[1]], x_pad.shape[0],
                        cell=0.55)
    show_grid(axes[0], x_pad, title="padded input x_pad", cmap=DIVERGING, vmin=-4, vmax=4,
              fontsize=8)
    show_grid(axes[1], g, title="upstream g", cmap=DIVERGING, vmin=-4, vmax=4, fontsize=8)
    show_grid(axes[2], grad_w, title="∂L/∂w", cmap=DIVERGING, fmt="{:.0f}",
              vmin=-1.8 * abs(grad_w).max(), vmax=1.8 * abs(grad_w).max(), fontsize=8)
    oh, ow = g.shape
    for n, (a, b) in enumerate(taps):
        color = WINDOW_COLORS[n]
        for i in range(oh):
            for j in range(ow):
                outline(axes[0], (stride * i + a, stride * j + b, 1, 1), color=color,
                        lw=2.5 - n)
        outline(axes[2], (a, b, 1, 1), color=color)
    outline(axes[1], (0, 0, oh, ow), color="black", lw=1.5)
    fig.tight_layout()
    return fig


@figure
def loss_figure(losses):
    """The training loss per step, on a log scale."""
    fig, ax = plt.subplots(figsize=(5.6, 2.6))
    ax.semilogy(losses)
    ax.set_xlabel("gradient step")
    ax.set_ylabel("squared error")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
