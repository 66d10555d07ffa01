"""The book's figures keep their rules (book/figures/common.py), so that they cannot silently
regress: text a reader can read at 1280 px, and one diverging colour map with one meaning.

The build enforces the text rule figure by figure (`common.readable` and
`common.check_readable`, applied to what every figure helper returns and to what
`animate.light_png` and `animate.animation` embed); these tests check that the rule fails what it
should, that no helper escapes it, and that no page or helper draws signed values with another
diverging map.
"""
import inspect
import pkgutil
import re

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import figures  # noqa: E402
from figures import animate, common  # noqa: E402
from tests.conftest import REPO  # noqa: E402

# matplotlib's diverging maps (its "Diverging" class); the book draws signed values with one.
DIVERGING_MAPS = ("PiYG", "PRGn", "BrBG", "PuOr", "RdGy", "RdBu", "RdYlBu", "RdYlGn",
                  "Spectral", "coolwarm", "bwr", "seismic", "berlin", "managua", "vanimo")
SOURCES = sorted((REPO / "book").glob("*.md")) + sorted((REPO / "book" / "figures").glob("*.py"))


def _chapter_modules():
    return [info.name for info in pkgutil.iter_modules(figures.__path__)
            if re.fullmatch(r"ch\d\d", info.name)]


def _titled(fontsize, width=3.0, height=2.0):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title", fontsize=fontsize)
    return fig


def test_the_one_diverging_map_is_red_for_positive():
    assert common.DIVERGING == "RdBu_r"
    cmap = plt.get_cmap(common.DIVERGING)
    red, _, blue, _ = cmap(1.0)
    assert red > blue, "the top of the scale (positive values) must be red"


def test_no_page_or_helper_uses_another_diverging_map():
    names = "|".join(DIVERGING_MAPS)
    found = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in re.findall(rf"""["']((?:{names})(?:_r)?)["']""", line):
                if name != common.DIVERGING:
                    found.append(f"{path.relative_to(REPO)}:{number}: {name}")
    assert not found, f"signed values are drawn with {common.DIVERGING} only: {found}"


def test_the_notation_page_says_what_the_colours_mean():
    text = (REPO / "book" / "notation.md").read_text()
    assert "red is positive, blue is negative" in text


def test_readable_text_passes_and_small_text_fails():
    common.check_readable(_titled(11), dpi=100)
    with pytest.raises(ValueError, match="a title"):
        common.check_readable(_titled(7), dpi=100)
    with pytest.raises(ValueError, match="a title"):          # 10 pt, but shrunk to the column
        common.check_readable(_titled(10, width=16), dpi=100)
    fig = _titled(11)
    fig.axes[0].tick_params(labelsize=6)
    with pytest.raises(ValueError, match="px"):               # tick labels count
        common.check_readable(fig, dpi=100)


def test_readable_raises_small_text_to_the_minimum():
    fig = common.readable(_titled(6), dpi=100)
    assert common.small_text(fig, dpi=100) == []
    assert fig.axes[0].title.get_fontsize() >= 6 * 11 / (6 * 100 / 72) - 0.01


def test_light_pngs_are_made_readable_and_animations_checked():
    fig = _titled(6)
    animate.light_png(fig)
    assert fig.axes[0].title.get_fontsize() * 100 / 72 >= common.MIN_TEXT_PX
    with pytest.raises(ValueError, match="a title"):
        animate.animation(_titled(6), lambda i: None, frames=2)


@pytest.mark.parametrize("module", _chapter_modules())
def test_every_figure_helper_checks_its_text(module):
    """Each function of a chapter module that draws (``*_figure``, ``*_animation``,
    ``*_movie``, ``image_grid``) goes through `common.figure`."""
    chapter = __import__(f"figures.{module}", fromlist=["_"])
    drawing = [name for name, value in vars(chapter).items()
               if inspect.isfunction(value) and not name.startswith("_")
               and value.__module__ == chapter.__name__
               and re.search(r"_(figure|animation|movie)$|^image_grid$", name)]
    unchecked = [name for name in drawing if not getattr(vars(chapter)[name], "checks_text",
                                                         False)]
    assert not unchecked, f"figures.{module}: decorate with @common.figure: {unchecked}"
