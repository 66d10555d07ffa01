"""Moving pictures for the book: matplotlib frames in a small embedded player.

`animation(fig, draw, frames)` returns an HTML object that a code cell displays: matplotlib's
JavaScript player (play, pause, step forward and back, loop), with every frame embedded as a PNG,
so the page works offline and needs no server. Keep figures small (``dpi`` 72, a few inches) and
frames few (a dozen or two): each frame adds its PNG to the page.
"""
from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
from IPython.display import HTML
from matplotlib.animation import FuncAnimation

__all__ = ["animation", "ANIMATION_CLASS"]

# Every player sits in <div class="book-animation">: the browser test finds, plays and steps them.
ANIMATION_CLASS = "book-animation"


def animation(fig, draw, frames, interval=700, dpi=72):
    """An embedded, controllable animation of ``fig``: ``draw(i)`` redraws frame ``i``.

    Args:
        fig: the figure, already laid out (its axes and first frame drawn).
        draw: called with 0, 1, …, ``frames - 1``; updates the artists of ``fig``.
        frames: the number of frames.
        interval: milliseconds per frame when playing.
        dpi: resolution of the embedded PNGs (page weight grows with its square).
    Returns:
        An `IPython.display.HTML` object; the figure is closed, so it is not shown twice.
    """
    matplotlib.rcParams["animation.embed_limit"] = 8.0   # MiB; the players stay far below
    player = FuncAnimation(fig, draw, frames=frames, interval=interval, blit=False)
    fig.set_dpi(dpi)
    html = player.to_jshtml(fps=1000 / interval, default_mode="loop")
    plt.close(fig)
    # matplotlib links Font Awesome 4 from a CDN for the buttons' icons; the page must work
    # offline, and the book's theme already ships Font Awesome.
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    return HTML(f'<div class="{ANIMATION_CLASS}">{html}</div>')
