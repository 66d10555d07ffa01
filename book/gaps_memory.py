"""Figure of chapter 10's section on activation memory (ch10-memory).

The page keeps the teaching code and the checks; the drawing lives here, called from a hidden
cell with the numbers the page measured. (A new module, to join book/figures/ later.)
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from animate import light_png

__all__ = ["memory_figure"]


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
