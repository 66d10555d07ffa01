"""The exercises' links to the book work wherever the notebook is opened (`autograder.book_links`).

Unit tests of the rewrite (fast), then the real thing: ``python -m autograder lab`` at ``/`` and
at JupyterHub's ``/user/alice/``, an exercise opened in JupyterLab in headless Chromium, its
"In the book" link clicked as a reader would (a mouse click, which JupyterLab opens in a new
tab), and the new tab checked: the book's page, scrolled to the section. Servers bind 127.0.0.1,
are bounded in time and stopped by the test that starts them.
"""
import json
import re
import shutil
import time
import urllib.request

import nbformat
import pytest

from autograder import book_links
from autograder.authoring import section_title
from autograder.book_links import BOOK_URL_PREFIX, rewrite_links, served_prefix
from tests.browser import CHROMIUM, Browser
from tests.conftest import EXERCISES, REPO

BOOK = REPO / "_build" / "html"
NOTEBOOK = "01_cross_correlation"


def _links(notebook):
    return [link for cell in notebook["cells"] if cell["cell_type"] == "markdown"
            for link in re.findall(r"\]\(([^)\s]*)\)", "".join(cell["source"]))]


# -- the rewrite itself ------------------------------------------------------------------------

def _exercise():
    return nbformat.read(EXERCISES / NOTEBOOK / f"{NOTEBOOK}.ipynb", as_version=4)


def test_links_are_written_from_the_servers_root():
    links = [link for link in _links(_exercise()) if "book/" in link]
    assert links and all(link.startswith(BOOK_URL_PREFIX) for link in links)


def test_the_rewrite_points_every_book_link_at_the_base_url_and_back():
    notebook = _exercise()
    before = nbformat.writes(notebook)
    count = len([link for link in _links(notebook) if link.startswith(BOOK_URL_PREFIX)])
    assert rewrite_links(notebook, [BOOK_URL_PREFIX], "/user/alice/static/book/") == count > 5
    assert all(not link.startswith(BOOK_URL_PREFIX) for link in _links(notebook))
    assert rewrite_links(notebook, ["/user/alice/static/book/"], BOOK_URL_PREFIX) == count
    assert nbformat.writes(notebook) == before


def test_only_markdown_links_change():
    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["see [x](/static/book/a.html#s) and /static/book/"]},
        {"cell_type": "code", "source": "url = '[x](/static/book/a.html)'"},
        {"cell_type": "markdown", "source": None}, "not a cell"]}
    assert rewrite_links(notebook, ["/static/book/"], "/user/b/static/book/") == 1
    assert notebook["cells"][0]["source"] == "see [x](/user/b/static/book/a.html#s) and /static/book/"
    assert notebook["cells"][1]["source"] == "url = '[x](/static/book/a.html)'"
    assert rewrite_links(None, ["/static/book/"], "/x/") == 0
    assert rewrite_links({"cells": None}, ["/static/book/"], "/x/") == 0


def test_a_local_build_wins_else_the_published_book_else_nothing(tmp_path):
    published = "https://course.example.org/book/"
    assert served_prefix("/user/alice/", [str(BOOK)], published) == "/user/alice/static/book/"
    assert served_prefix("/", [str(BOOK)], None) == BOOK_URL_PREFIX
    assert served_prefix("/user/alice/", [str(tmp_path)], published) == published
    assert served_prefix("/user/alice/", [], None) is None


def test_the_published_address_is_jupyter_books_html_baseurl(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\nhtml:\n  use_repository_button: false\n"
                      "  baseurl: https://course.example.org/\nlaunch_buttons: {}\n")
    assert book_links.published_prefix(config) == "https://course.example.org/book/"
    assert book_links.written_prefix(config) == "https://course.example.org/book/"
    config.write_text("title: x\nhtml:\n  use_repository_button: false\n")
    assert book_links.published_prefix(config) is None
    assert book_links.written_prefix(config) == BOOK_URL_PREFIX
    assert book_links.published_prefix(tmp_path / "absent.yml") is None
    assert book_links.published_prefix(REPO / "_config.yml") is None   # nothing published yet


@pytest.fixture
def published(tmp_path, monkeypatch):
    """The course as if its book were published (``html.baseurl`` set in ``_config.yml``)."""
    config = tmp_path / "_config.yml"
    config.write_text("html:\n  baseurl: https://course.example.org\n")
    # (the library's modules refuse assignment once the checks are loaded: set it in their dict)
    monkeypatch.setitem(vars(book_links), "_CONFIG", config)
    return "https://course.example.org/book/"


def test_a_published_book_is_what_released_notebooks_link(published):
    from autograder import authoring
    assert authoring.book_url("ch06-matrix") == f"{published}06_transposed.html#ch06-matrix"
    notebook = authoring.layout(_exercise(), NOTEBOOK)
    links = [link for link in _links(notebook) if "book/" in link]
    assert links and all(link.startswith(published) for link in links)


class _Contents:
    """A contents manager as jupyter_server calls it (``get``, ``save``), on one notebook."""

    def __init__(self, notebook):
        self.file = nbformat.writes(notebook)

    def get(self, path, content=True, type=None, format=None):
        return {"type": "notebook", "content": nbformat.reads(self.file, as_version=4)
                if content else None}

    def save(self, model, path):
        self.file = nbformat.writes(nbformat.from_dict(model["content"]))
        return {"type": "notebook", "content": None}


class _AsyncContents(_Contents):
    async def get(self, *args, **kwargs):
        return super().get(*args, **kwargs)

    async def save(self, *args, **kwargs):
        return super().save(*args, **kwargs)


@pytest.mark.parametrize("manager", [_Contents, _AsyncContents])
@pytest.mark.parametrize("where", ["local build", "published only"])
def test_the_extension_hands_out_working_links_and_saves_what_was_written(
        manager, where, published, tmp_path):
    """Whichever form the file holds, the server hands out the address that works there and
    saves back the form the course writes (byte for byte when nothing else changed)."""
    import asyncio
    from autograder.authoring import layout
    from types import SimpleNamespace

    notebook = layout(_exercise(), NOTEBOOK)                  # links to the published book
    contents = manager(notebook)
    written = contents.file
    static = [str(BOOK)] if where == "local build" else [str(tmp_path)]
    server = SimpleNamespace(base_url="/user/alice/", extra_static_paths=static,
                             contents_manager=contents, log=SimpleNamespace(info=print))
    book_links._load_jupyter_server_extension(server)
    run = (asyncio.run if manager is _AsyncContents else lambda value: value)
    model = run(contents.get("x.ipynb"))
    expected = "/user/alice/static/book/" if where == "local build" else published
    links = [link for link in _links(model["content"]) if "book/" in link]
    assert links and all(link.startswith(expected) for link in links)
    run(contents.save(model, "x.ipynb"))
    assert contents.file == written
    assert run(contents.get("x.ipynb", content=False))["content"] is None


def test_make_book_enables_the_extension_for_the_environment(tmp_path):
    from autograder.lab import write_book_config
    write_book_config(book=BOOK, folder=tmp_path / "etc" / "jupyter")
    enabled = json.loads((tmp_path / "etc" / "jupyter" / "jupyter_server_config.d"
                          / "autograder.json").read_text())
    assert enabled["ServerApp"]["jpserver_extensions"] == {"autograder.book_links": True}


# -- a real JupyterLab, in Chromium -------------------------------------------------------------

OPEN_LINK_JS = r"""(async () => {
    for (let i = 0; i < 240; i++) {
        const link = Array.from(document.querySelectorAll('.jp-RenderedMarkdown a'))
            .find(a => /static\/book\/.*#/.test(a.getAttribute('href') || ''));
        if (link) {
            link.scrollIntoView({block: 'center'});
            await new Promise(r => setTimeout(r, 300));
            const box = link.getBoundingClientRect();
            return JSON.stringify({href: link.getAttribute('href'), target: link.target,
                                   x: box.left + box.width / 2, y: box.top + box.height / 2});
        }
        await new Promise(r => setTimeout(r, 500));
    }
    return JSON.stringify(null);
})()"""

LANDED_JS = r"""(() => {
    const id = decodeURIComponent(location.hash.slice(1));
    const section = id && document.getElementById(id);
    return JSON.stringify({url: location.href, title: document.title, id,
                           found: !!section,
                           top: section ? section.getBoundingClientRect().top : null,
                           heading: section ? ((section.closest('section') || section)
                               .querySelector('h1,h2,h3,h4') || {}).textContent || '' : ''});
})()"""


def _click_the_book_link(browser, url):
    """Open ``url`` (a notebook in JupyterLab), click its first section link with the mouse;
    return (the link's href, what the new tab shows)."""
    browser.send("Target.setDiscoverTargets", {"discover": True})
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target,
                                                     "flatten": True})["sessionId"]
    browser.send("Page.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride", {
        "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.send("Page.navigate", {"url": url}, session=session)
    found = browser.send("Runtime.evaluate", {"expression": OPEN_LINK_JS, "awaitPromise": True,
                                              "returnByValue": True},
                         session=session, timeout=150)
    link = json.loads(found["result"]["value"])
    assert link, "JupyterLab showed no rendered link to the book within 120 s"
    before = {t["targetId"] for t in browser.send("Target.getTargets")["targetInfos"]}
    for kind in ("mousePressed", "mouseReleased"):
        browser.send("Input.dispatchMouseEvent", {"type": kind, "x": link["x"], "y": link["y"],
                                                  "button": "left", "clickCount": 1},
                     session=session)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pages = [t for t in browser.send("Target.getTargets")["targetInfos"]
                 if t["type"] == "page" and t["targetId"] not in before
                 and "static/book" in t["url"]]
        if pages:
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"clicking {link['href']} opened no page of the book")
    opened = browser.send("Target.attachToTarget", {"targetId": pages[0]["targetId"],
                                                    "flatten": True})["sessionId"]
    for _ in range(60):
        state = browser.send("Runtime.evaluate", {"expression": "document.readyState",
                                                  "returnByValue": True}, session=opened)
        if state["result"]["value"] == "complete":
            break
        time.sleep(0.25)
    time.sleep(0.5)
    landed = browser.send("Runtime.evaluate", {"expression": LANDED_JS, "returnByValue": True},
                          session=opened)
    return link, json.loads(landed["result"]["value"])


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian's chromium)")
@pytest.mark.parametrize("base_url", ["/", "/user/alice/"])
def test_a_learner_clicks_in_the_book_and_lands_on_the_section(base_url, tmp_path):
    """At the server's root and under JupyterHub's per-user base URL: the link JupyterLab shows
    starts with the base URL, the click opens the book's page (not a 404) at the section, and
    saving the notebook leaves the file's links as they were written."""
    from tests.test_lab import _running_lab

    assert (BOOK / "book" / "intro.html").is_file(), "run `make book` first"
    folder = tmp_path / "home"
    folder.mkdir()
    path = folder / f"{NOTEBOOK}.ipynb"
    shutil.copy(EXERCISES / NOTEBOOK / f"{NOTEBOOK}.ipynb", path)
    written = path.read_text()
    with _running_lab(f"--ServerApp.root_dir={folder}", f"--ServerApp.base_url={base_url}") as root:
        server = root + base_url.rstrip("/")
        browser = Browser(loopback=True)
        try:
            link, landed = _click_the_book_link(
                browser, f"{server}/lab/tree/{NOTEBOOK}.ipynb?token=learner")
        finally:
            browser.close()
        assert link["href"].startswith(f"{base_url}static/book/"), link
        assert link["target"] == "_blank", link
        page, anchor = link["href"].split("#")
        assert landed["url"] == f"{root}{page}#{anchor}", landed
        assert "404" not in landed["title"] and landed["found"], landed
        assert section_title(anchor) in landed["heading"], landed
        assert -5 <= landed["top"] <= 150, landed              # scrolled to the section

        # What JupyterLab sends back when it saves: the links it was given.
        api = f"{server}/api/contents/{NOTEBOOK}.ipynb?token=learner"
        with urllib.request.urlopen(api + "&content=1", timeout=30) as response:
            model = json.load(response)
        assert all(link.startswith(f"{base_url}static/book/")
                   for link in _links(model["content"]) if "static/book/" in link)
        save = urllib.request.Request(api, method="PUT", headers={
            "Content-Type": "application/json"}, data=json.dumps(
            {"type": "notebook", "format": "json", "content": model["content"]}).encode())
        with urllib.request.urlopen(save, timeout=30) as response:
            assert response.status == 200
    assert _links(nbformat.reads(path.read_text(), as_version=4)) == _links(
        nbformat.reads(written, as_version=4))
