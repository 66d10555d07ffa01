"""The built book, opened in headless Chromium with networking off, as a reader would see it.

`make test` builds the book first (`make book`), so _build/html is current. Every page of the
table of contents must load with no console errors or failed requests, show all its images, and
have all its math typeset by the local copy of MathJax.
"""
import re

import pytest

from tests.browser import CHROMIUM, Browser, open_page
from tests.conftest import REPO

BUILD = REPO / "_build" / "html"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")]


def _pages():
    toc = (REPO / "_toc.yml").read_text()
    files = re.findall(r"(?:root|file):\s*(\S+)", toc)
    return ["index"] + files


def _chapters():
    """The numbered chapters, book/01_... to book/09_..., in table-of-contents order."""
    return [page for page in _pages() if re.fullmatch(r"book/\d\d_\w+", page)]


@pytest.fixture(scope="module")
def browser():
    if not (BUILD / "index.html").is_file():
        pytest.fail("the book is not built: run `make book` (make test does it first)")
    session = Browser()
    yield session
    session.close()


@pytest.mark.parametrize("page", _pages())
def test_page_loads_cleanly_offline(browser, page):
    path = BUILD / f"{page}.html"
    assert path.is_file(), f"{page} was not built"
    report = open_page(browser, path.as_uri())
    assert report["errors"] == [], report["errors"]
    assert report["brokenImages"] == []
    assert report["mathErrors"] == 0
    assert report["rawTables"] == 0, "a Markdown table was rendered as raw pipe text"
    if report["math"]:
        assert report["mathjax"] == "typeset", "MathJax did not load from the build folder"
        assert report["typeset"] >= report["math"], report


def test_landing_page_table_is_a_table(browser):
    """The graded-exercises table on the landing page is an HTML table, not pipe text."""
    report = open_page(browser, (BUILD / "book" / "intro.html").as_uri())
    assert report["tables"] >= 1, report
    assert report["rawTables"] == 0, report
    html = (BUILD / "book" / "intro.html").read_text()
    table = html[html.index("<table"):html.index("</table>")]
    assert "Assignment" in table and "corr2d" in table


def test_chapters_have_figures_and_math(browser):
    for page in _chapters():
        report = open_page(browser, (BUILD / f"{page}.html").as_uri())
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
