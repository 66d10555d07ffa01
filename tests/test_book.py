"""The built book, opened in headless Chromium with networking off, as a reader would see it.

`make test` builds the book first (`make book`), so _build/html is current. Every page of the
table of contents must load with no console errors or failed requests, show all its images, and
have all its math typeset by the local copy of MathJax. At 1280 px wide no page may be taller
than 16,000 px or overflow sideways; every animation must step and play; the code a reader can
see holds no build plumbing (`glue(`) and no line over 88 columns; and no page weighs more than
3 MB. Each of these checks is also run on a page built to break it (the `test_check_*` tests),
so that a check that can no longer fail is noticed.

    python -m tests.test_book          prints these measurements for every page of the build
"""
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.browser import CHROMIUM, WIDTH, Browser, open_page
from tests.conftest import REPO

BUILD = REPO / "_build" / "html"
MAX_HEIGHT = 16_000            # px, at WIDTH = 1280 px
MAX_CODE_COLUMNS = 88
MAX_PAGE_BYTES = 3_000_000     # the page's HTML (animations' frames included) and its own images
ANIMATED_CHAPTERS = ("01", "02", "04", "06", "08")   # issue 10: where motion is the point
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")]


def _pages():
    toc = (REPO / "_toc.yml").read_text()
    files = re.findall(r"(?:root|file):\s*(\S+)", toc)
    return ["index"] + files


def _chapters():
    """The numbered chapters, book/01_... to book/09_..., in table-of-contents order."""
    return [page for page in _pages() if re.fullmatch(r"book/\d\d_\w+", page)]


# ---------------------------------------------------------------------------------------------
# The checks, as functions of a page (its report from the browser, or its built HTML), so that
# the same function runs on the book and on the broken pages below.

def layout_problems(report):
    """What is wrong with the page's size at WIDTH px: too tall, or wider than the window or
    than the text column without a scrollbar of its own."""
    problems = []
    if report["height"] > MAX_HEIGHT:
        problems.append(f"{report['height']:,} px tall (at most {MAX_HEIGHT:,})")
    if report["scrollWidth"] > report["viewportWidth"]:
        problems.append(f"{report['scrollWidth']} px wide in a {report['viewportWidth']} px "
                        "window: the page scrolls sideways")
    problems += [f"wider than the text column, no scrollbar: {o}" for o in report["overflowing"]]
    return problems


def animation_problems(report):
    """Players that do not show a frame, step forward and back, or play."""
    problems = []
    for number, player in enumerate(report["animations"], 1):
        failed = [what for what in ("shown", "stepped", "steppedBack", "played")
                  if not player[what]]
        if player.get("problem") or failed or player["frames"] < 2:
            problems.append(f"animation {number}: {player.get('problem', '')} "
                            f"frames={player['frames']} failed={failed}")
    return problems


def _soup(html):
    from bs4 import BeautifulSoup       # pydata-sphinx-theme's own dependency
    return BeautifulSoup(html, "html.parser")


def visible_code(html):
    """The code blocks a reader can see, or open: every cell's input that the build kept
    (``hide-input`` cells are a click away, so they count) and the page's literal code
    blocks; cell outputs are not code."""
    article = _soup(html).find("article") or _soup(html)
    return [pre.get_text() for pre in article.select("div.highlight pre")
            if not pre.find_parent("div", class_="cell_output")]


def plumbing_problems(html):
    """Build plumbing in visible code, and lines a reader must scroll to read."""
    problems = []
    for number, code in enumerate(visible_code(html), 1):
        for line in code.splitlines():
            if "glue(" in line:
                problems.append(f"code block {number} shows plumbing: {line.strip()[:70]}")
            if len(line) > MAX_CODE_COLUMNS:
                problems.append(f"code block {number} has a {len(line)}-column line: "
                                f"{line.strip()[:50]}...")
    return problems


def page_weight(path):
    """(bytes, shared bytes) a reader downloads for the page at ``path``: its HTML, with
    everything inlined (an animation's frames are inline PNGs), plus its images; and, apart,
    the scripts and stylesheets, which are the theme's and the same for every page."""
    path = Path(path)
    own, shared = path.stat().st_size, 0
    seen = set()
    soup = _soup(path.read_text())
    for tag in soup.find_all(["img", "source", "video", "script", "link"]):
        if tag.name == "link" and "stylesheet" not in (tag.get("rel") or []):
            continue                                  # next, prev, index: not downloaded
        url = tag.get("href") if tag.name == "link" else tag.get("src")
        if not url or urlsplit(url).scheme or url.startswith("//"):
            continue
        file = (path.parent / unquote(urlsplit(url).path)).resolve()
        if file in seen or not file.is_file():
            continue
        seen.add(file)
        if tag.name in ("script", "link"):
            shared += file.stat().st_size
        else:
            own += file.stat().st_size
    return own, shared


# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not (BUILD / "index.html").is_file():
        pytest.fail("the book is not built: run `make book` (make test does it first)")
    session = Browser()
    yield session
    session.close()


@pytest.fixture(scope="module")
def reports(browser):
    """Each page opened once: {page: open_page's report}, filled as tests ask."""
    cache = {}

    def report(page):
        if page not in cache:
            path = BUILD / f"{page}.html"
            assert path.is_file(), f"{page} was not built"
            cache[page] = open_page(browser, path.as_uri())
        return cache[page]
    return report


@pytest.mark.parametrize("page", _pages())
def test_page_loads_cleanly_offline(reports, page):
    """No console error while the page loads and while its animations play."""
    report = reports(page)
    assert report["errors"] == [], report["errors"]
    assert report["brokenImages"] == []
    assert report["mathErrors"] == 0
    assert report["rawTables"] == 0, "a Markdown table was rendered as raw pipe text"
    if report["math"]:
        assert report["mathjax"] == "typeset", "MathJax did not load from the build folder"
        assert report["typeset"] >= report["math"], report


@pytest.mark.parametrize("page", _pages())
def test_page_is_at_most_16000_px_tall_and_does_not_overflow_at_1280_px(reports, page):
    assert layout_problems(reports(page)) == []


@pytest.mark.parametrize("page", _pages())
def test_every_animation_steps_and_plays(reports, page):
    assert animation_problems(reports(page)) == []


def test_chapters_1_2_4_6_and_8_have_animations(reports):
    """Issue 10: the sliding window (ch 1), channels summed (ch 2), a dilated kernel's receptive
    field (ch 4), zero insertion and stamping (ch 6), unpooling with switches (ch 8). A chapter
    split over several pages counts the animations of all of them."""
    counts = {}
    for page in _chapters():
        number = Path(page).name[:2]
        counts[number] = counts.get(number, 0) + len(reports(page)["animations"])
    print(f"animations per chapter: {counts}, {sum(counts.values())} in all")
    missing = [number for number in ANIMATED_CHAPTERS if counts.get(number, 0) == 0]
    assert not missing, f"no animation in chapter(s) {', '.join(missing)}: {counts}"


@pytest.mark.parametrize("page", _pages())
def test_visible_code_shows_no_plumbing_and_fits_88_columns(page):
    assert plumbing_problems((BUILD / f"{page}.html").read_text()) == []


@pytest.mark.parametrize("page", _pages())
def test_page_weighs_at_most_3_mb(page):
    own, _ = page_weight(BUILD / f"{page}.html")
    assert own <= MAX_PAGE_BYTES, f"{page}: {own:,} bytes"


def test_landing_page_table_is_a_table(reports):
    """The graded-exercises table on the landing page is an HTML table, not pipe text."""
    report = reports("book/intro")
    assert report["tables"] >= 1, report
    assert report["rawTables"] == 0, report
    html = (BUILD / "book" / "intro.html").read_text()
    table = html[html.index("<table"):html.index("</table>")]
    assert "Assignment" in table and "corr2d" in table


def test_chapters_have_figures_and_math(reports):
    for page in _chapters():
        report = reports(page)
        assert report["images"] >= 2, f"{page} shows no figures"
        assert report["typeset"] >= 5, f"{page} typesets almost no math"


def test_mathjax_is_served_locally():
    html = (BUILD / "book" / "intro.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts


@pytest.mark.parametrize("page", _chapters() + ["book/primer"])
def test_chapters_assert_their_examples_against_pytorch(page):
    """Worked examples are checked in the page itself, so a wrong claim fails the build."""
    source = (REPO / f"{page}.md").read_text()
    assert source.count("assert_close") + source.count("assert torch.equal") >= 3


def test_front_matter_comes_before_chapter_1():
    pages = _pages()
    first = pages.index(_chapters()[0])
    assert pages.index("book/notation") < first and pages.index("book/primer") < first


@pytest.mark.parametrize("page", _chapters())
def test_chapters_end_with_summary_further_reading_and_citations(page):
    """Each chapter has a summary and further reading, and cites the bibliography."""
    html = (BUILD / f"{page}.html").read_text()
    assert re.search(r"<h2>Summary", html), f"{page} has no summary"
    assert re.search(r"<h2>Further reading", html), f"{page} has no further reading"
    cited = set(re.findall(r'href="references\.html#(id\d+)"', html))
    assert len(cited) >= 3, f"{page} cites {len(cited)} references"


def test_bibliography_lists_every_entry_and_every_citation_resolves():
    bib = (REPO / "book" / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M)
    html = (BUILD / "book" / "references.html").read_text()
    anchors = set(re.findall(r'<div class="citation" id="(id\d+)"', html))
    assert len(anchors) == len(keys) == len(set(keys)), (len(anchors), len(keys))
    for page in _pages()[1:]:
        page_html = (BUILD / f"{page}.html").read_text()
        targets = set(re.findall(r'href="references\.html#(id\d+)"', page_html))
        assert targets <= anchors, (page, targets - anchors)


# ---------------------------------------------------------------------------------------------
# Each check on a page made to break it: these pass only if the check fails that page.

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head>
<body style="margin:0"><main><article style="width:700px; margin-left:200px">{}</article></main>
</body></html>"""


def _player(broken=False):
    """An animation from book/figures/animate.py, or one whose script refers to a name that is
    not there (as a player would whose JavaScript failed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from figures.animate import animation
    fig, ax = plt.subplots(figsize=(1.5, 1.5))
    ax.axis("off")                 # no text: animation() refuses text a reader cannot read
    line, = ax.plot([0, 1], [0, 0])
    html = animation(fig, lambda i: line.set_ydata([0, i]), frames=3, interval=100).data
    return html.replace("new Animation(", "new Animashun(") if broken else html


@pytest.fixture
def page_file(tmp_path):
    def write(body, name="page.html"):
        path = tmp_path / name
        path.write_text(PAGE.format(body))
        return path
    return write


def test_check_layout_fails_a_tall_or_wide_page(browser, page_file):
    fine = open_page(browser, page_file(
        '<p>text</p><div style="overflow-x:auto"><table><tr><td style="min-width:1500px">'
        'a wide table with its own scrollbar</td></tr></table></div>').as_uri())
    assert layout_problems(fine) == [], fine
    tall = open_page(browser, page_file('<div style="height:17000px"></div>').as_uri())
    assert any("tall" in p for p in layout_problems(tall))
    wide = open_page(browser, page_file(
        '<table><tr><td style="min-width:900px">a table wider than the column</td></tr>'
        '</table><pre style="overflow:visible">' + "x = 1  " * 300 + "</pre>").as_uri())
    problems = layout_problems(wide)
    assert any("scrolls sideways" in p for p in problems), problems
    assert sum("no scrollbar" in p for p in problems) == 2, problems


def test_check_animations_fails_a_player_that_does_not_play(browser, page_file):
    working = open_page(browser, page_file(_player()).as_uri())
    assert len(working["animations"]) == 1 and animation_problems(working) == [], working
    assert working["errors"] == []
    broken = open_page(browser, page_file(_player(broken=True)).as_uri())
    assert animation_problems(broken), broken["animations"]
    assert broken["errors"], "a player whose script fails logs an error"
    still = open_page(browser, page_file(
        '<div class="book-animation"><img src="data:image/png;base64,iVBORw0KGgo=">'
        '<button title="Next frame">next</button><button title="Play">play</button>'
        '<button title="Pause">pause</button></div>').as_uri())
    assert animation_problems(still), still["animations"]


def test_check_plumbing_fails_visible_glue_and_long_lines():
    def cell(code, tags=""):
        return (f'<div class="cell {tags} docutils container"><div class="cell_input docutils '
                f'container"><div class="highlight-ipython3 notranslate"><div class="highlight">'
                f'<pre>{code}</pre></div></div></div></div>')
    output = ('<div class="cell_output docutils container"><div class="highlight"><pre>'
              + "9" * 120 + "</pre></div></div>")
    assert plumbing_problems(PAGE.format(cell("y = x + 1") + output)) == []
    assert plumbing_problems(PAGE.format(cell('glue("n", n, display=False)', "tag_hide-input")))
    assert plumbing_problems(PAGE.format(cell("y = " + "x + " * 30 + "1")))


def test_check_weight_fails_a_heavy_page(page_file):
    light = page_file("<p>light</p>", "light.html")
    heavy = page_file('<img src="data:image/png;base64,' + "A" * 3_100_000 + '">', "heavy.html")
    assert page_weight(light)[0] < 1000
    assert page_weight(heavy)[0] > MAX_PAGE_BYTES


# ---------------------------------------------------------------------------------------------

def main():
    """Print, for every built page: height, width, overflow, animations, weight, plumbing."""
    browser = Browser()
    try:
        print(f"{'page':28} {'height':>7} {'wide':>5} {'over':>4} {'scroll':>6} {'anim':>4} "
              f"{'weight':>10} {'plumbing':>8} {'errors':>6}")
        for page in _pages():
            path = BUILD / f"{page}.html"
            report = open_page(browser, path.as_uri())
            own, shared = page_weight(path)
            plumbing = plumbing_problems(path.read_text())
            print(f"{page:28} {report['height']:7,} {report['scrollWidth']:5} "
                  f"{len(report['overflowing']):4} {len(report['scrolledBlocks']):6} "
                  f"{len(report['animations']):4} {own:10,} {len(plumbing):8} "
                  f"{len(report['errors']):6}")
            for problem in (layout_problems(report) + animation_problems(report) + plumbing
                            + report["errors"]):
                print(f"    {problem}")
        print(f"(shared theme files under _static: {shared:,} bytes, downloaded once; "
              f"window {WIDTH} px wide)")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
