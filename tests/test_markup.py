"""Issue 15: no markup from a learner is live anywhere the grader writes, proved in Chromium.

A hostile submission (math with ``\\style``/``\\href``/``\\class``/``\\cssId`` and friends, raw
HTML of every kind in markdown, markdown images and links to a beacon, a raw ``text/html`` cell
with a script, markdown attachments, code cells carrying HTML/JavaScript/SVG outputs, hostile
metadata) goes through everything the grader writes for a person to open:

1. the learner's feedback page (`write_feedback`);
2. the autograded notebook of the course pipeline (`record._autograded_notebook`), rendered as
   formgrader renders a submission (nbconvert's HTMLExporter, its ``formgrade`` template,
   ``sanitize_html=False``), with formgrader's MathJax 2 CDN script replaced by the local MathJax 3
   (all TeX extensions, no Safe extension: stricter than formgrader) so that the math is typeset;
3. the notebook stock ``nbgrader autograde`` saves after `TrustedGrading.preprocess` (the real
   preprocessor, its grader stubbed), rendered the same way;
4. the instructor's report, with hostile student ids, messages and cell names.

Each page is opened in headless Chromium while a beacon HTTP server on 127.0.0.1 (started and
stopped here) records every request. For every page: the beacon saw nothing, no learner script
ran (payloads set ``window.__pwned`` and ``document.title``), the page did not navigate, no
learner element is fixed/absolute/sticky or covers the grader's own content, no attribute
carries a beacon, ``javascript:`` or ``data:`` URL, the only requests that leave the page's own
server are the nbconvert template's fixed CDN URLs, and the honest content (a formula, a table,
code, the verdicts) still renders. Two controls (the same payloads without the fix) must trip
the same checks, so that a harness that can no longer see an attack is noticed.
"""
import base64
import copy
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, HEIGHT, WIDTH, Browser, _high_pipe

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian's chromium, /usr/bin/chromium)")]

A1 = "01_cross_correlation"
SERVER_LIFETIME = 300            # s: the servers shut themselves down after this, whatever happens
PAGE_TIMEOUT = 30                # s: one page's load
MATHJAX_DIR = next((p for p in (
    Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    / "site-packages" / "sphinx-mathjax-offline" / "static" / "mathjax",
    Path(__file__).resolve().parent.parent / "_build" / "html" / "_static" / "mathjax")
    if (p / "tex-chtml-full.js").is_file()), None)
FORMGRADER_MATHJAX = ("https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"
                      "?config=TeX-AMS_CHTML-full,Safe")

# --- the servers -----------------------------------------------------------------------------


class _Server:
    """A threaded HTTP server on 127.0.0.1 (ephemeral port) that records every request."""

    def __init__(self, directory=None):
        self.requests = []
        self.directory = directory
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=directory or tempfile.gettempdir(), **kwargs)

            def log_message(self, *args):
                pass

            def _beacon(self):
                server.requests.append(f"{self.command} {self.path}")
                if directory is not None:
                    return super().do_GET() if self.command == "GET" else self.send_error(405)
                # a 1x1 PNG for whatever is asked: an image that loads is as bad as one that fails
                png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
                                       "YAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            do_GET = do_POST = do_HEAD = _beacon

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.watchdog = threading.Timer(SERVER_LIFETIME, self.httpd.shutdown)
        self.watchdog.daemon = True
        self.thread.start()
        self.watchdog.start()

    def stop(self):
        self.watchdog.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the HTTP server did not stop"


@pytest.fixture(scope="module")
def pages_dir():
    folder = Path(tempfile.mkdtemp(prefix="markup-pages-"))
    if MATHJAX_DIR is not None:
        (folder / "mathjax").symlink_to(MATHJAX_DIR)
        # formgrader's MathJax 2 configuration, given to MathJax 3: $...$ and \(...\) inline,
        # $$...$$ and \[...\] display, environments; every TeX extension loaded, no "safe" filter
        config = ("window.MathJax = {loader: {load: ['[tex]/html', '[tex]/bbox', '[tex]/enclose', "
                  "'[tex]/action', '[tex]/unicode']}, tex: {packages: {'[+]': ['html', 'bbox', "
                  "'enclose', 'action', 'unicode']}, inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], "
                  "displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true, "
                  "processEnvironments: true}, chtml: {fontURL: '/mathjax/output/chtml/fonts/woff-v2'}};\n")
        shim = config + (MATHJAX_DIR / "tex-chtml-full.js").read_text(encoding="utf-8") + (
            "\nwindow.MathJax.Hub = {Config: function () {}, Queue: function () {}};\n")
        (folder / "mathjax-shim.js").write_text(shim, encoding="utf-8")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def servers(pages_dir):
    beacon, site = _Server(), _Server(pages_dir)
    yield beacon, site
    beacon.stop()
    site.stop()


# --- the browser -----------------------------------------------------------------------------

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-dev-shm-usage", "--remote-debugging-pipe",
    # no internet: every host but 127.0.0.1 resolves to nothing (the beacon and the pages are
    # on 127.0.0.1, so that what a page asks of them is seen, not refused)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


class _Chromium(Browser):
    """`tests.browser.Browser` with loopback reachable (the beacon must see what a page asks)."""

    def __init__(self):  # the parent's, with FLAGS above
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        to_browser_read, self._to_browser = _high_pipe()
        self._from_browser, from_browser_write = _high_pipe()

        def wire():
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events = []


@pytest.fixture(scope="module")
def browser():
    chromium = _Chromium()
    yield chromium
    chromium.close()


# What a reader would be exposed to, measured in the page. REGION: where learner content is;
# PROTECTED: the grader's own content, which nothing may cover; ALLOW: attribute URLs of the
# page's own making (the report's charts).
CHECK_JS = r"""(async () => {
    const BEACON = %(beacon)s, REGION = %(region)s, PROTECTED = %(protected)s,
          TEMPLATE_CONTROLS = %(controls)s, OWN_DATA = %(own_data)s;
    const describe = el => !el ? 'nothing' : el.tagName.toLowerCase()
        + (el.id ? '#' + el.id : '')
        + (typeof el.className === 'string' && el.className.trim()
           ? '.' + el.className.trim().split(/\s+/).join('.') : '')
        + ' "' + (el.textContent || '').trim().slice(0, 50) + '"';
    const out = {pwned: window.__pwned || null, title: document.title, href: location.href,
                 beaconAttributes: [], scriptUrls: [], dataUrls: [], handlers: [], positioned: [],
                 active: [], learnerClasses: [], covered: [], ids: {}};
    const regions = Array.from(document.querySelectorAll(REGION));
    const inRegion = el => regions.some(r => r.contains(el));
    const templateControl = el => TEMPLATE_CONTROLS && el.matches(TEMPLATE_CONTROLS);
    for (const el of document.querySelectorAll('*')) {
        for (const a of el.attributes) {
            const v = a.value;
            if (v.includes(BEACON)) out.beaconAttributes.push(describe(el) + ' ' + a.name);
            if (/^\s*(javascript|vbscript):/i.test(v) || /(javascript|vbscript):/i.test(v) &&
                /^(href|src|action|formaction|xlink:href|data|poster|background)$/i.test(a.name))
                out.scriptUrls.push(describe(el) + ' ' + a.name + '=' + v.slice(0, 60));
            if (/^\s*data:/i.test(v) && !(OWN_DATA && v.startsWith(OWN_DATA)))
                out.dataUrls.push(describe(el) + ' ' + a.name + '=' + v.slice(0, 40));
            if (inRegion(el) && /^on/i.test(a.name))
                out.handlers.push(describe(el) + ' ' + a.name);
        }
        if (!inRegion(el) || templateControl(el)) continue;
        const style = getComputedStyle(el), box = el.getBoundingClientRect();
        const hidden = /^rect\(1px,? 1px,? 1px,? 1px\)$/.test(style.clip);  // MathJax's a11y copy
        if (['fixed', 'sticky'].includes(style.position)
            || (style.position === 'absolute' && !hidden && box.width * box.height > 2500))
            out.positioned.push(describe(el) + ' position:' + style.position + ' '
                                + Math.round(box.width) + 'x' + Math.round(box.height));
        if (['IMG', 'IFRAME', 'FRAME', 'OBJECT', 'EMBED', 'VIDEO', 'AUDIO', 'SOURCE', 'SCRIPT',
             'STYLE', 'LINK', 'META', 'BASE', 'FORM', 'INPUT', 'BUTTON', 'TEXTAREA', 'SELECT',
             'DETAILS', 'svg', 'image', 'foreignObject', 'CANVAS', 'MARQUEE']
            .includes(el.tagName) || (el.tagName === 'A' && el.hasAttribute('href')
                                       && !el.getAttribute('href').startsWith('#')))
            out.active.push(describe(el));
        if (typeof el.className === 'string' && /navbar|fixed|modal|overlay/.test(el.className))
            out.learnerClasses.push(describe(el));
    }
    for (const el of document.querySelectorAll('[id]'))
        out.ids[el.id] = (out.ids[el.id] || 0) + 1;
    for (const el of document.querySelectorAll(PROTECTED)) {
        el.scrollIntoView({block: 'center'});
        await new Promise(r => requestAnimationFrame(() => r()));
        const r = el.getBoundingClientRect();
        const x = Math.min(Math.max(r.left + Math.min(r.width / 2, 40), 1), innerWidth - 1);
        const y = Math.min(Math.max(r.top + r.height / 2, 1), innerHeight - 1);
        const top = document.elementFromPoint(x, y);
        if (!top || !(el === top || el.contains(top)))
            out.covered.push(describe(el) + ' is under ' + describe(top));
    }
    window.scrollTo(0, 0);
    return JSON.stringify(out);
})()"""


def _visit(browser, url, *, region, protected, controls="", own_data="", honest_js="null",
           settle=1.0):
    """Open ``url`` in a fresh tab; return what CHECK_JS measured, the requests the page made and
    the result of ``honest_js`` (an expression evaluated in the page)."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        for domain in ("Runtime", "Page", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}, session=session)
        browser.events.clear()
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait_for("Page.loadEventFired", timeout=PAGE_TIMEOUT)
        browser.send("Runtime.evaluate", {
            "expression": ("Promise.race([new Promise(r => setTimeout(r, 20000)), "
                           "(window.MathJax && MathJax.startup && MathJax.startup.promise) "
                           "|| Promise.resolve()]).then(() => 'done')"),
            "awaitPromise": True, "returnByValue": True}, session=session, timeout=PAGE_TIMEOUT)
        time.sleep(settle)
        beacon = json.dumps(BEACON_HOLDER["origin"])
        expression = CHECK_JS % {"beacon": beacon, "region": json.dumps(region),
                                 "protected": json.dumps(protected),
                                 "controls": json.dumps(controls), "own_data": json.dumps(own_data)}
        measured = browser.send("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True},
            session=session, timeout=PAGE_TIMEOUT)
        if "exceptionDetails" in measured:
            raise AssertionError(f"the page check failed: {measured['exceptionDetails']}")
        result = json.loads(measured["result"]["value"])
        honest = browser.send("Runtime.evaluate", {
            "expression": f"JSON.stringify({honest_js})", "returnByValue": True}, session=session)
        result["honest"] = json.loads(honest["result"].get("value") or "null")
        result["requests"] = [e["params"]["request"]["url"] for e in browser.events
                              if e.get("method") == "Network.requestWillBeSent"
                              and e.get("sessionId") == session]
        return result
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


BEACON_HOLDER = {}


# --- the hostile submission ------------------------------------------------------------------

PWN = "window.__pwned=1;document.title='PWNED'"
HONEST_MD = ("# Honest heading\n\nThe output size is $x^2 + \\frac{a}{b}$ and\n\n"
             "$$\\left( \\sum_{i=1}^{n} x_i \\right)$$\n\n"
             "| kernel | output |\n|---|---|\n| 3 | 5 |\n\nSee `corr2d` below.\n")
HONEST_CODE = "def corr2d(x, k):\n    return x  # honest-code-marker\n"


def _md(source, gid=None, **extra):
    meta = {"nbgrader": {"grade_id": gid, "grade": False, "solution": False, "locked": False,
                         "schema_version": 3}} if gid else {}
    return {"cell_type": "markdown", "metadata": meta, "source": source, **extra}


def _code(source, gid=None, grade=False, solution=False, points=0, outputs=(), count=None, **meta):
    nbg = {"grade_id": gid, "grade": grade, "solution": solution, "locked": not solution,
           "points": points, "schema_version": 3} if gid else None
    metadata = dict(meta, **({"nbgrader": nbg} if nbg else {}))
    return {"cell_type": "code", "metadata": metadata, "source": source,
            "outputs": list(outputs), "execution_count": count}


def hostile_payloads(beacon):
    """{name: markdown source} of every attack written in a markdown cell."""
    b = beacon
    svg = base64.b64encode(f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PWN}">'
                           f'<image href="{b}/svg-data.png"/></svg>'.encode()).decode()
    return {
        "math \\style background url": f"$\\style{{background:url({b}/style-bg.png)}}{{x}}$ and "
                                       f"$$\\style{{background-image:url('{b}/style-bg2.png')}}{{y}}$$",
        "math \\style fixed overlay": "$$\\style{position:fixed;top:0;left:0;width:100%;height:100%;"
                                      "background:white;z-index:2147483647}{\\text{Score 13/13 — all "
                                      "tests PASSED}}$$",
        "math \\href javascript": f"$\\href{{javascript:{PWN}}}{{\\text{{click me}}}}$ and "
                                  f"$\\href{{{b}/href}}{{z}}$",
        "math \\class / \\cssId": "$\\class{navbar-fixed-top}{x}$ $\\cssId{statusmessage}{y}$ "
                                  "$\\data{mjx-x=1}{w}$",
        "math \\bbox/\\unicode/\\require": "$\\bbox[position:fixed;top:0;left:0;width:100%;"
                                          "height:100%;background:white]{v}$ $\\unicode{x41}$ "
                                          "$\\require{action}\\toggle{a}{b}\\endtoggle$",
        "math smuggled by character references": f"\\\\(&#92;style{{background:url({b}/entity.png)}}"
                                                 f"{{e}}\\\\) and &#92;(&#92;style{{background:url("
                                                 f"{b}/entity2.png)}}{{f}}\\)",
        "math displacement": "$\\smash{\\raise{30em}{\\text{PASSED 13/13}}}$ "
                             "$\\lower{30em}{\\text{PASSED}}$ $\\rule{100em}{100em}$ "
                             "$\\begin{array}{c}x\\\\[-30em]\\text{PASSED 13/13}\\end{array}$ "
                             "$\\def\\arraystretch{-9}\\begin{array}{c}y\\\\z\\end{array}$",
        "raw <img onerror>": f'<img src=x onerror="{PWN}">',
        "raw <script>": f"<script>{PWN};fetch('{b}/script')</script>",
        "raw <svg onload>": f'<svg onload="{PWN}"><image href="{b}/svg-image.png"/></svg>',
        "raw <iframe>": f'<iframe src="{b}/iframe"></iframe> <iframe srcdoc="<script>parent.__pwned'
                        f'=1</script>"></iframe>',
        "raw <style>": f"<style>@import url({b}/import.css); body {{ background: url({b}/body.png) }}"
                       "</style>",
        "raw <meta refresh>": f'<meta http-equiv="refresh" content="0;url={b}/refresh">',
        "raw fixed overlay <div>": '<div style="position:fixed;top:0;left:0;width:100%;height:100%;'
                                   'background:white;z-index:2147483647">Score 13/13 — all tests '
                                   'PASSED</div>',
        "raw others": f'<a href="javascript:{PWN}">js link</a> <link rel=stylesheet href={b}/link.css>'
                      f' <object data={b}/object></object> <video poster={b}/poster.png></video>'
                      f' <input autofocus onfocus="{PWN}"> <details open ontoggle="{PWN}">d</details>'
                      f' <form action={b}/form><button>b</button></form>',
        "markdown image and links": f"![beacon]({b}/md-image.png) [link]({b}/md-link) "
                                    f"[js](javascript:{PWN}) <{b}/autolink> {b}/bare-url "
                                    f"![data](data:image/svg+xml;base64,{svg})",
        "markdown reference image": f"[r]: {b}/ref.png\n\n![r][r] and [r]",
        "mermaid block": f"```mermaid\ngraph TD; A-->B<img src=x onerror=\"{PWN}\">\n```",
    }


def hostile_notebook(beacon):
    """A submission of assignment A1 with every payload, honest content and two test cells."""
    b = beacon
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PWN}"><image href="{b}/att.png"/>'
           "</svg>")
    cells = [_md(HONEST_MD, "intro")]
    cells += [_md(f"**{name}**:\n\n{source}\n") for name, source in hostile_payloads(b).items()]
    cells += [_md("## test_corr2d\n\nA heading named after a test cell (formgrader finds its score "
                  "box by that id)."), _md("# statusmessage")]
    cells += [_md(f"Inline HTML in a sentence: <img src=x onerror=\"{PWN}\"> and <script>{PWN}"
                  f"</script> and <a href=\"{b}/inline-a\">a</a> <img src=\"{b}/inline.png\">.")]
    cells += [
        _md("An attachment: ![pwn](attachment:pwn.svg) ![png](attachment:dot.png)",
            attachments={"pwn.svg": {"image/svg+xml": base64.b64encode(svg.encode()).decode()},
                         "dot.png": {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwC"
                                                  "AAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="}}),
        {"cell_type": "raw", "metadata": {"raw_mimetype": "text/html"},
         "source": f'<script>{PWN}</script><img src="{b}/raw-html.png">'},
        {"cell_type": "raw", "metadata": {},
         "source": f'<img src="{b}/raw-plain.png"><div class="navbar-fixed-top">raw</div>'},
        _code("import torch", "setup"),
        _code(HONEST_CODE, "corr2d", solution=True, count=f'<img src=x onerror="{PWN}">', outputs=[
            {"output_type": "display_data", "metadata": {}, "data": {
                "text/html": f'<img src=x onerror="{PWN}"><img src="{b}/out-html.png">',
                "application/javascript": PWN,
                "image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PWN}">'
                                 f'<image href="{b}/out-svg.png"/></svg>',
                "text/markdown": f"![x]({b}/out-md.png)",
                "text/latex": f"$\\style{{background:url({b}/out-latex.png)}}{{x}}$",
                "text/plain": "plain"}},
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/html": f'<div style="position:fixed;inset:0;background:white">'
                                   f'PASSED</div><img src="{b}/out-result.png">'}},
            {"output_type": "stream", "name": "stdout",
             "text": f"\x1b]8;;{b}/osc8\x1b\\a terminal link\x1b]8;;\x1b\\ printed"}],
              tags=["ok", "x navbar-fixed-top"]),
        _code(f'check("{A1}.corr2d", corr2d)', "test_corr2d", grade=True, points=1,
              jupyter={"outputs_hidden": True}, outputs=[
                  {"output_type": "display_data", "metadata": {},
                   "data": {"text/html": f'<img src=x onerror="{PWN}">'}}]),
        _code(f'check("{A1}.corr2d", corr2d, hidden=True)', "test_corr2d_hidden", grade=True,
              points=2),
        _md("The end.", 'end" onmouseover="window.__pwned=1'),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    cells[1]["id"] = 'x" onmouseover="window.__pwned=1'
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "title": f'<img src=x onerror="{PWN}">',
        "widgets": {"application/vnd.jupyter.widget-state+json": {
            "state": {}, "version_major": 2, "version_minor": 0,
            "x": f"</script><script>{PWN}</script>"}}}}


def hostile_result(beacon, student="mallory"):
    """The verdict on the hostile notebook: one test passed, one failed with a message that
    quotes learner text (as a repr of a learner's value may)."""
    from autograder.result import CellProblem, NotebookResult, TestOutcome

    quoted = f'<img src="{beacon}/message.png" onerror="{PWN}"> <script>{PWN}</script>'
    return NotebookResult(
        student, A1, seed=7, devices=("cpu",),
        tests=[TestOutcome("test_corr2d", f"{A1}.corr2d", False, 1, 1),
               TestOutcome("test_corr2d_hidden", f"{A1}.corr2d", True, 2, 0,
                           f"corr2d failed case 3 of 13: got {quoted}")],
        cell_problems=[CellProblem("corr2d", "error", f"ValueError: {quoted}")],
        tampered_cells=[f'<b onmouseover="{PWN}">x</b>'])


# --- rendering as formgrader does ------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _formgrader_exporter():
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    try:
        from nbgrader.server_extensions.formgrader.handlers import template_path
    except Exception:   # the handlers need a Jupyter server stack; the folder is the same
        import nbgrader
        template_path = str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
                            / "templates")
    config = Config()   # what FormgradeExtension.build_extra_config sets
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [template_path]
    exporter = HTMLExporter(config=config)
    assert exporter.sanitize_html is False   # formgrader renders the notebook as it is
    return exporter


def formgrader_html(notebook_text, folder, name="hostile"):
    """The page formgrader serves for a submission whose autograded notebook is
    ``notebook_text`` (FormgradeHandler: ``exporter.from_filename`` with these resources), with
    its MathJax CDN URL pointed at the local MathJax (no internet here)."""
    path = Path(folder) / f"{name}.ipynb"
    path.write_text(notebook_text, encoding="utf-8")
    resources = {"assignment_id": A1, "notebook_id": A1, "submission_id": "s1", "index": 0,
                 "total": 1, "base_url": "", "student": "mallory", "last_name": None,
                 "first_name": None, "notebook_path": f"autograded/mallory/{A1}/{name}.ipynb"}
    html, _ = _formgrader_exporter().from_filename(str(path), resources=resources)
    assert FORMGRADER_MATHJAX in html, "formgrader's MathJax URL changed: update the test"
    return html.replace(FORMGRADER_MATHJAX, "/mathjax-shim.js")


@functools.lru_cache(maxsize=None)
def template_urls():
    """The external URLs nbconvert's formgrade template itself loads (a notebook with no cells)."""
    import nbformat

    folder = tempfile.mkdtemp(prefix="markup-empty-")
    try:
        html = formgrader_html(nbformat.writes(nbformat.v4.new_notebook()), folder, "empty")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return frozenset(re.findall(r"""(?:src|href)=["'](https?://[^"']+)["']""", html)
                     + re.findall(r"""import \w+ from ['"](https?://[^'"]+)['"]""", html))


# --- the pages -------------------------------------------------------------------------------

FEEDBACK_HONEST = r"""({
    maths: document.querySelectorAll('math').length,
    formula: Array.from(document.querySelectorAll('math')).some(m =>
        m.querySelector('msup') && m.querySelector('mfrac')
        && /x2\+ab/.test(m.textContent.replace(/\s/g, ''))),
    block: document.querySelectorAll('math[display="block"]').length,
    fence: document.querySelectorAll('mo[stretchy="true"][fence="true"][form="prefix"]').length,
    table: Array.from(document.querySelectorAll('.md table td')).map(t => t.textContent),
    code: Array.from(document.querySelectorAll('pre code')).some(c =>
        c.textContent.includes('honest-code-marker')),
    verdicts: Array.from(document.querySelectorAll('section.test')).map(s => s.className),
    payloadText: document.body.textContent.includes('onerror'),
    mathAttributes: Array.from(document.querySelectorAll('math, math *')).flatMap(e =>
        Array.from(e.attributes).map(a => a.name)).filter((v, i, all) => all.indexOf(v) === i).sort()
})"""

FORMGRADER_HONEST = r"""({
    typeset: document.querySelectorAll('mjx-container').length,
    formula: Array.from(document.querySelectorAll('mjx-container')).some(m =>
        m.querySelector('mjx-mfrac') && m.querySelector('mjx-msup')),
    table: Array.from(document.querySelectorAll('.text_cell_render table td')).map(t => t.textContent),
    heading: !!Array.from(document.querySelectorAll('.text_cell_render h1')).find(h =>
        h.textContent.includes('Honest heading')),
    code: Array.from(document.querySelectorAll('.input_area')).some(c =>
        c.textContent.includes('honest-code-marker')),
    verdicts: Array.from(document.querySelectorAll('.output_subarea')).map(o => o.textContent.trim()),
    payloadText: document.body.textContent.includes('onerror'),
    mathjaxErrors: document.querySelectorAll('mjx-merror').length
})"""

# what the formgrade template draws itself inside the notebook: its score and comment controls
FORMGRADER_CONTROLS = ("input.score, input.extra-credit, textarea.comment, .scoring-buttons, "
                       ".scoring-buttons *")


def _assert_inert(page, name, hits, allowed_external=frozenset(), own_data=None):
    """The checks every page passes (see the module docstring)."""
    problems = {key: page[key] for key in ("beaconAttributes", "scriptUrls", "dataUrls", "handlers",
                                           "positioned", "active", "learnerClasses", "covered")
                if page[key]}
    assert not problems, f"{name}: learner markup is live: {json.dumps(problems, indent=1)}"
    assert page["pwned"] is None and "PWNED" not in page["title"], f"{name}: a learner script ran"
    assert not hits, f"{name}: the beacon server saw {hits}"
    requests = [u for u in page["requests"] if not u.startswith(BEACON_HOLDER["site"] + "/")]
    beacon_requests = [u for u in requests if u.startswith(BEACON_HOLDER["origin"])]
    assert not beacon_requests, f"{name}: requests to the beacon: {beacon_requests}"
    elsewhere = [u for u in requests if u not in allowed_external
                 and not (own_data and u.startswith(own_data))]
    assert not elsewhere, f"{name}: requests other than the page's and its template's: {elsewhere}"


def _beacon_hits(servers, name, wait=1.0):
    time.sleep(wait)   # a request the page started late still lands on the server
    return [r for r in servers[0].requests if f"/{name}/" in r]


@pytest.fixture(scope="module")
def site(servers):
    beacon, site = servers
    BEACON_HOLDER.update(origin=beacon.origin, site=site.origin)
    return servers


def test_feedback_page_is_inert(site, browser, pages_dir):
    from autograder.instructor.feedback import write_feedback
    from autograder.instructor.record import _renderable

    beacon = f"{BEACON_HOLDER['origin']}/feedback"
    text = json.dumps(hostile_notebook(beacon))
    write_feedback(hostile_result(beacon), _renderable(text), pages_dir / "feedback.html")
    page = _visit(browser, f"{BEACON_HOLDER['site']}/feedback.html", region="body",
                  protected="body > table td, section.test h3", honest_js=FEEDBACK_HONEST)
    _assert_inert(page, "feedback", _beacon_hits(site, "feedback"))
    honest = page["honest"]
    assert honest["formula"] and honest["block"] >= 1 and honest["fence"] >= 1, honest
    assert honest["table"] == ["3", "5"] and honest["code"], honest
    assert honest["verdicts"] == ["test passed", "test failed"], honest
    assert honest["payloadText"], "the payloads are shown as text"
    assert set(honest["mathAttributes"]) <= {
        "display", "mathvariant", "stretchy", "fence", "separator", "form", "lspace", "rspace",
        "accent", "accentunder", "movablelimits", "minsize", "maxsize", "width", "height", "depth",
        "linebreak", "displaystyle", "scriptlevel", "mathcolor", "mathbackground", "columnalign",
        "rowalign", "columnlines", "rowlines", "linethickness", "notation"}, honest
    assert {"display", "stretchy", "fence", "form"} <= set(honest["mathAttributes"]), honest


def _formgrader_page(site, browser, pages_dir, name, notebook_text):
    (pages_dir / f"{name}.html").write_text(formgrader_html(notebook_text, pages_dir, name),
                                            encoding="utf-8")
    page = _visit(browser, f"{BEACON_HOLDER['site']}/{name}.html", region="#notebook-container",
                  protected=".output_subarea, .nbgrader_cell .panel-heading",
                  controls=FORMGRADER_CONTROLS, honest_js=FORMGRADER_HONEST, settle=1.5)
    _assert_inert(page, name, _beacon_hits(site, name), template_urls())
    for own in ("statusmessage", "test_corr2d", "test_corr2d_hidden"):   # template, score boxes
        assert page["ids"].get(own) == 1, f"a learner element took the id {own!r}: {page['ids']}"
    honest = page["honest"]
    assert honest["heading"] and honest["table"] == ["3", "5"] and honest["code"], honest
    assert honest["payloadText"], "the payloads are shown as text"
    if MATHJAX_DIR is not None:
        assert honest["typeset"] >= 2 and honest["formula"], honest
    return page


@pytest.mark.skipif(MATHJAX_DIR is None, reason="no local MathJax 3 (sphinx-mathjax-offline)")
def test_autograded_notebook_is_inert_in_formgrader(site, browser, pages_dir):
    from autograder.instructor.record import _autograded_notebook

    beacon = f"{BEACON_HOLDER['origin']}/autograded"
    text = _autograded_notebook(json.dumps(hostile_notebook(beacon)), hostile_result(beacon))
    page = _formgrader_page(site, browser, pages_dir, "autograded", text)
    verdicts = page["honest"]["verdicts"]
    assert any("corr2d: visible cases: passed" in v for v in verdicts), verdicts
    assert any("CheckFailure" in v and "corr2d failed case 3" in v for v in verdicts), verdicts


@pytest.mark.skipif(MATHJAX_DIR is None, reason="no local MathJax 3 (sphinx-mathjax-offline)")
def test_trusted_grading_notebook_is_inert_in_formgrader(site, browser, pages_dir, monkeypatch):
    """The real `TrustedGrading.preprocess` (its sandboxed grader stubbed with the verdict), on a
    submission whose learner cells still hold their hostile outputs (no ClearOutput before)."""
    import nbformat

    from autograder import nbgrader_ext

    beacon = f"{BEACON_HOLDER['origin']}/trusted"
    result = hostile_result(beacon)
    fake = types.ModuleType("autograder.grade_notebook")
    fake.grade_job = lambda job, sandbox: result
    fake.worker_sandbox = lambda sandboxed: None
    monkeypatch.setitem(sys.modules, "autograder.grade_notebook", fake)
    nb = nbformat.reads(json.dumps(hostile_notebook(beacon)), as_version=4)
    resources = {"nbgrader": {"student": "mallory", "assignment": A1, "notebook": A1}}
    nb, resources = nbgrader_ext.TrustedGrading(secret="s", sandboxed=False).preprocess(nb, resources)
    assert resources["autograder"]["result"] is result
    page = _formgrader_page(site, browser, pages_dir, "trusted", nbformat.writes(nb))
    verdicts = page["honest"]["verdicts"]
    assert any("corr2d: visible cases: passed" in v for v in verdicts), verdicts
    assert any("CheckFailure" in v for v in verdicts) and any("ValueError" in v for v in verdicts)


def test_report_is_inert(site, browser, pages_dir):
    from autograder.instructor.report import write_report
    from autograder.result import NotebookResult

    beacon = f"{BEACON_HOLDER['origin']}/report"
    hostile = f'<img src="{beacon}/student.png" onerror="{PWN}">'
    results = [hostile_result(beacon, student=hostile),
               NotebookResult(f"<script>{PWN}</script>", A1, status="could not be graded",
                              reason=f'<meta http-equiv="refresh" content="0;url={beacon}/r">'),
               NotebookResult('<div style="position:fixed;inset:0">x</div>', A1,
                              status="not submitted")]
    write_report(results, pages_dir / "report.html", extra={hostile: hostile},
                 feedback_dir=pages_dir / "feedback")
    page = _visit(browser, f"{BEACON_HOLDER['site']}/report.html", region="body",
                  protected="h1, h2, table th", own_data="data:image/png;base64,",
                  honest_js="({images: Array.from(document.images).map(i => i.alt), "
                            "tables: document.querySelectorAll('table').length, "
                            "links: Array.from(document.links).map(a => a.getAttribute('href'))})")
    # the report's own charts are <img> elements (data:image/png made by matplotlib), and its
    # own links are to the feedback pages beside it: relative, percent-encoded, no scheme
    links = page["honest"]["links"]
    assert len(links) == 2 and all(re.fullmatch(r"feedback/[A-Za-z0-9%._~/-]+\.html", h)
                                   for h in links), links
    page["active"] = [a for a in page["active"] if not re.match(r'(img|a) "', a)]
    _assert_inert(page, "report", _beacon_hits(site, "report"),
                  own_data="data:image/png;base64,")
    assert len(page["honest"]["images"]) == 2 and page["honest"]["tables"] >= 5, page["honest"]
    assert all(u.startswith(("data:image/png;base64,", BEACON_HOLDER["site"]))
               for u in page["requests"]), page["requests"]


# --- the controls: the same harness sees the attacks when nothing stops them -----------------


def test_control_unsanitised_pages_are_caught(site, browser, pages_dir):
    """Without the fix, the checks above fail: latex2mathml's own MathML fetches the beacon and
    covers the page; the notebook rendered as it was submitted runs scripts and loads URLs."""
    import nbformat
    from latex2mathml.converter import convert

    from autograder.instructor.report import page as report_page

    beacon = f"{BEACON_HOLDER['origin']}/control-math"
    maths = "".join(convert(tex) for tex in (
        f"\\style{{background:url({beacon}/style-bg.png)}}{{x}}",
        "\\style{position:fixed;top:0;left:0;width:100%;height:100%;background:white}{PASSED}"))
    (pages_dir / "control-math.html").write_text(report_page(
        "control", f"<table><tr><td>Score</td><td>0 / 3</td></tr></table><div class='md'>{maths}</div>"))
    page = _visit(browser, f"{BEACON_HOLDER['site']}/control-math.html", region=".md",
                  protected="table td")
    assert _beacon_hits(site, "control-math"), "the beacon did not see latex2mathml's \\style"
    assert page["covered"] and page["positioned"], page

    beacon = f"{BEACON_HOLDER['origin']}/control-notebook"
    notebook = hostile_notebook(beacon)
    notebook["cells"] = [c for c in notebook["cells"] if "refresh" not in str(c.get("source"))]
    for i, cell in enumerate(notebook["cells"]):     # nbconvert refuses a notebook invalid as JSON
        cell["id"] = f"c{i}"
        if cell["cell_type"] == "code":
            cell["execution_count"] = None
    text = nbformat.writes(nbformat.from_dict(notebook))
    (pages_dir / "control-notebook.html").write_text(
        formgrader_html(text, pages_dir, "control-notebook"), encoding="utf-8")
    page = _visit(browser, f"{BEACON_HOLDER['site']}/control-notebook.html",
                  region="#notebook-container", protected=".output_subarea",
                  controls=FORMGRADER_CONTROLS, settle=1.5)
    hits = _beacon_hits(site, "control-notebook")
    assert page["pwned"] == 1 and hits and page["covered"] and page["handlers"], (page, hits)
    assert page["ids"].get("test_corr2d", 0) >= 2, "the heading did not take the score box's id"
    if MATHJAX_DIR is not None:   # MathJax 3 honours \style when nothing filters it
        assert any("style-bg" in h for h in hits), hits


# --- sanitize.py without a browser -----------------------------------------------------------


def test_sanitize_notebook_keeps_grading_and_is_idempotent():
    import nbformat
    from nbgrader.utils import compute_checksum, determine_grade

    from autograder.sanitize import _BLOCKED_TEX as BLOCKED
    from autograder.sanitize import _nbconvert_problems, sanitize_notebook

    nb = nbformat.from_dict(copy.deepcopy(hostile_notebook("http://127.0.0.1:9/x")))
    answer = nbformat.v4.new_markdown_cell("YOUR ANSWER HERE <br>", metadata={"nbgrader": {
        "grade": True, "solution": True, "grade_id": "answer", "points": 2, "locked": False,
        "schema_version": 3}})
    answer.metadata.nbgrader.checksum = compute_checksum(answer)
    nb.cells.append(answer)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_corr2d_hidden":
            cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailure", evalue="no",
                                                   traceback=["CheckFailure: no"])]
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    before = [determine_grade(c) for c in graded]
    clean = sanitize_notebook(nb)
    assert isinstance(clean, nbformat.NotebookNode)
    nbformat.validate(clean)
    after = [determine_grade(c) for c in clean.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert before == after == [(1.0, 1.0), (0, 2.0), (0, 2.0)]   # unanswered stays unanswered
    assert sanitize_notebook(clean) == clean                     # idempotent
    for cell in clean.cells:                  # what nbconvert makes of each markdown cell
        if cell.cell_type == "markdown":
            assert _nbconvert_problems(cell.source) == [], cell.source
        assert not BLOCKED.search(cell.source) or cell.cell_type == "code", cell.source
    text = nbformat.writes(clean)
    for live in ('"text/html":', '"image/svg+xml":', '"application/javascript":', '"attachments":',
                 '"widgets":', '"raw_mimetype":', '"outputs_hidden":', 'navbar-fixed-top"',
                 'onmouseover="'):
        assert live not in text, live
    assert [c.cell_type for c in clean.cells].count("raw") == 0
    assert all(o.output_type in ("stream", "error") for c in clean.cells
               if c.cell_type == "code" for o in c.outputs)
    assert nb.cells[0].source == HONEST_MD                       # the input is not changed


def test_sanitize_markdown_keeps_honest_markdown():
    from autograder.sanitize import sanitize_markdown

    for honest in (HONEST_MD, "Intervals $[0, 1)$ and $a < b$, `x<y` and **bold**.\n",
                   "```python\nx = 1 < 2\n```\n", "1. one\n2. two\n\n> quote\n"):
        assert sanitize_markdown(honest) == honest
    assert sanitize_markdown("a [link](http://x.y/z)") == "a \\[link\\](http\\://x.y/z)"
    assert sanitize_markdown("<b>x</b>") == "&lt;b>x&lt;/b>"
    fallback = sanitize_markdown("| $[x](javascript:alert(1)) | $ |\n|---|---|\n| 1 | 2 |")
    assert fallback.startswith("*Markdown shown as text by the grader.*\n\n```\n")
