"""Moving pictures and light figures for the book.

`animation(fig, draw, frames)` returns an HTML object that a code cell displays: matplotlib's
JavaScript player (play, pause, step forward and back, loop), with every frame embedded as a PNG,
so the page works offline and needs no server. `light_png(fig)` displays a static figure. Both
reduce every PNG to a small palette (the book's figures are flat colours and text, so nothing
visible is lost, and pages get three to five times lighter). Keep figures small and frames few
(a dozen or two): each frame adds its PNG to the page.
"""
from __future__ import annotations

import base64
import io
import re

import matplotlib
import matplotlib.pyplot as plt
from IPython.display import HTML, Image as PNG
from matplotlib.animation import FuncAnimation
from PIL import Image

from .common import check_readable, readable

__all__ = ["animation", "light_png", "quantize_png", "ANIMATION_CLASS"]

# Every player sits in <div class="book-animation">: the browser test finds, plays and steps them.
ANIMATION_CLASS = "book-animation"
_FRAME = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\\\s]+)")


def quantize_png(png, colors=64):
    """The PNG bytes ``png`` re-encoded with a palette of ``colors`` colours."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=colors)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def light_png(fig, dpi=100, colors=64):
    """``fig`` as a palette PNG for a cell to display; the figure is closed (not shown twice).
    Its text is made readable at ``dpi`` (`common.readable`), and checked."""
    check_readable(readable(fig, dpi), dpi)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return PNG(data=quantize_png(buffer.getvalue(), colors))


def animation(fig, draw, frames, interval=700, dpi=72, colors=64):
    """An embedded, controllable animation of ``fig``: ``draw(i)`` redraws frame ``i``.

    Args:
        fig: the figure, already laid out (its axes and first frame drawn).
        draw: called with 0, 1, …, ``frames - 1``; updates the artists of ``fig``.
        frames: the number of frames.
        interval: milliseconds per frame when playing.
        dpi: resolution of the embedded PNGs (page weight grows with its square).
        colors: size of each frame's palette (None keeps matplotlib's full-colour PNGs).
    Returns:
        An `IPython.display.HTML` object; the figure is closed, so it is not shown twice.
        The first frame's text must be readable at ``dpi`` (`common.check_readable`).
    """
    check_readable(fig, dpi, tight=False)
    matplotlib.rcParams["animation.embed_limit"] = 8.0   # MiB; the players stay far below
    player = FuncAnimation(fig, draw, frames=frames, interval=interval, blit=False)
    fig.set_dpi(dpi)
    html = player.to_jshtml(fps=1000 / interval, default_mode="loop")
    plt.close(fig)
    # matplotlib links Font Awesome 4 from a CDN for the buttons' icons; the page must work
    # offline, and the book's theme already ships Font Awesome.
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    if colors:
        def requantize(match):
            png = base64.b64decode(re.sub(r"[\\\s]", "", match[1]))
            return "data:image/png;base64," + base64.b64encode(
                quantize_png(png, colors)).decode("ascii")
        html, count = _FRAME.subn(requantize, html)
        assert count >= frames, "the player's frames were not found"
    return HTML(f'<div class="{ANIMATION_CLASS}">{html}</div>')
