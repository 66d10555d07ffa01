"""A minimal headless-Chromium driver over the DevTools protocol on a pipe (no extra packages).

`open_page` loads a page with networking off, in a window ``WIDTH`` pixels wide, and reports what
a reader would notice: uncaught exceptions and console errors, failed requests, images that did
not load, math left untypeset by MathJax, tables (rendered ones, and Markdown tables left as raw
pipe text), the page's height, anything wider than the window or than the text column (without
a scrollbar of its own), and whether every embedded animation (``div.book-animation``, made by
book/figures/animate.py) steps and plays. `Tab` keeps a page open to interact with it (the
convolution explorer's test moves its sliders and presses keys).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-dev-shm-usage",
    # networking off: every host resolves to nothing and any proxied request is refused
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
    "--remote-debugging-pipe",
]

RULES = FLAGS[FLAGS.index("--host-resolver-rules=MAP * ~NOTFOUND")]
LOOPBACK_RULES = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

WIDTH, HEIGHT = 1280, 800          # the reader's window, in CSS pixels

# Layout, measured once MathJax has typeset the page. The text column is the theme's
# <article>; an element that reaches past it must sit in a scroll container (overflow-x auto or
# scroll) that itself fits in the column, or the reader cannot see all of it.
LAYOUT_JS = r"""(() => {
    const doc = document.documentElement;
    const article = document.querySelector('article') || document.querySelector('main')
        || document.body;
    const column = article.getBoundingClientRect();
    const describe = el => el.tagName.toLowerCase()
        + (el.id ? '#' + el.id : '')
        + (el.className && typeof el.className === 'string'
           ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : '')
        + ' "' + (el.textContent || el.getAttribute('alt') || '').trim().slice(0, 60) + '"';
    const sticksOut = r => r.width > 0 && (r.right > column.right + 1 || r.left < column.left - 1);
    const contained = el => {
        for (let e = el; e && e !== article; e = e.parentElement) {
            const style = getComputedStyle(e).overflowX;
            if (style === 'auto' || style === 'scroll') {
                return !sticksOut(e.getBoundingClientRect());
            }
        }
        return false;
    };
    const overflowing = [];
    for (const el of article.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        // what it draws: its box, or more where its content spills out (overflow visible)
        const spills = getComputedStyle(el).overflowX === 'visible';
        const rect = {left: box.left, width: box.width,
                      right: spills ? Math.max(box.right, box.left + el.scrollWidth) : box.right};
        if (!sticksOut(rect) || contained(el)) continue;
        overflowing.push({el, text: describe(el) + ' ' + Math.round(rect.left) + '..'
                          + Math.round(rect.right) + ' px, column '
                          + Math.round(column.left) + '..' + Math.round(column.right)});
    }
    // Name the culprits, not the sections they push out: keep the innermost offenders.
    const culprits = overflowing.filter(
        o => !overflowing.some(p => p !== o && o.el.contains(p.el)));
    // Blocks (code, tables, wide figures) that the reader has to scroll sideways to read all of.
    const scrolled = Array.from(article.querySelectorAll('*'))
        .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                     && e.scrollWidth > e.clientWidth + 1)
        .map(e => describe(e) + ' ' + e.scrollWidth + ' px in ' + e.clientWidth);
    return JSON.stringify({
        height: Math.max(doc.scrollHeight, document.body.scrollHeight),
        scrollWidth: Math.max(doc.scrollWidth, document.body.scrollWidth),
        viewportWidth: window.innerWidth,
        columnWidth: Math.round(column.width),
        overflowing: culprits.slice(0, 20).map(o => o.text),
        scrolledBlocks: scrolled});
})()"""

# Every animation player: step forward and back with its buttons, then play for a moment. The
# frame is the <img> whose src the player swaps; a player whose script failed changes nothing.
ANIMATIONS_JS = r"""(async () => {
    const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
    const results = [];
    for (const player of document.querySelectorAll('div.book-animation')) {
        const img = player.querySelector('img');
        const button = title => player.querySelector('button[title="' + title + '"]');
        const slider = player.querySelector('input[type=range]');
        const result = {frames: slider ? Number(slider.max) + 1 : 0, stepped: false,
                        steppedBack: false, played: false, shown: false};
        results.push(result);
        if (!img || !button('Next frame') || !button('Play') || !button('Pause')) {
            result.problem = 'no player: its image or its buttons are missing';
            continue;
        }
        player.scrollIntoView();
        for (let i = 0; i < 20 && !img.getAttribute('src'); i++) await sleep(50);
        const first = img.getAttribute('src') || '';
        try {
            button('Next frame').click();
            await sleep(50);
            result.stepped = (img.getAttribute('src') || '') !== first;
            button('Previous frame').click();
            await sleep(50);
            result.steppedBack = img.getAttribute('src') === first;
            button('Play').click();
            for (let t = 0; t < 60 && !result.played; t++) {
                await sleep(100);
                result.played = (img.getAttribute('src') || '') !== first;
            }
            button('Pause').click();
        } catch (error) {
            result.problem = String(error);
        }
        await sleep(50);
        result.shown = img.complete && img.naturalWidth > 0;
    }
    return JSON.stringify(results);
})()"""


def _high_pipe():
    """A pipe whose two descriptors are 10 or above (clear of the 3 and 4 Chromium reads)."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return tuple(ends)


class Browser:
    """Chromium with its DevTools endpoint on file descriptors 3 (commands) and 4 (replies).

    With ``loopback``, pages may load from 127.0.0.1 (a server the test started); every other
    host stays unreachable.
    """

    def __init__(self, loopback=False):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        flags = [LOOPBACK_RULES if loopback and flag == RULES else flag for flag in FLAGS]
        to_browser_read, self._to_browser = _high_pipe()
        self._from_browser, from_browser_write = _high_pipe()

        def wire():
            os.dup2(to_browser_read, 3)       # both sources are >= 10, so neither is clobbered
            os.dup2(from_browser_write, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *flags, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=30):
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read_message(deadline))

    def close(self):
        self.process.kill()
        self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


def _measure(browser, session, settle, animations):
    """The report of the page loaded in ``session``, once MathJax is done."""
    mathjax = browser.send("Runtime.evaluate", {
        "expression": ("(window.MathJax && MathJax.startup && MathJax.startup.promise) ? "
                       "MathJax.startup.promise.then(() => 'typeset') : Promise.resolve('absent')"),
        "awaitPromise": True, "returnByValue": True}, session=session, timeout=60)
    time.sleep(settle)
    report = browser.send("Runtime.evaluate", {"expression": """JSON.stringify({
        math: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('mjx-container').length,
        mathErrors: document.querySelectorAll('mjx-merror').length,
        images: document.images.length,
        tables: document.querySelectorAll('article table').length,
        rawTables: Array.from(document.querySelectorAll('article p'))
            .filter(p => /^ *[|].*[|] *$/m.test(p.textContent)).length,
        brokenImages: Array.from(document.images)
            .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
        title: document.title})""", "returnByValue": True}, session=session)
    result = json.loads(report["result"]["value"])
    result["mathjax"] = mathjax["result"]["value"]
    layout = browser.send("Runtime.evaluate", {"expression": LAYOUT_JS, "returnByValue": True},
                          session=session)
    result.update(json.loads(layout["result"]["value"]))
    result["animations"] = []
    if animations:
        played = browser.send("Runtime.evaluate", {
            "expression": ANIMATIONS_JS, "awaitPromise": True, "returnByValue": True},
            session=session, timeout=120)
        result["animations"] = json.loads(played["result"]["value"])
    return result


def open_page(browser, url, settle=1.0, animations=True):
    """Load ``url`` in a new tab; return a dict of what went wrong (empty lists when nothing).

    Also measures the page at ``WIDTH`` pixels (height, overflow) and, with ``animations``,
    steps and plays every animation player, so that their errors are reported too.
    """
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride", {
        "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        session=session)
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired")
    for attempt in range(3):
        try:
            result = _measure(browser, session, settle, animations)
            break
        except RuntimeError as error:      # the page redirected (index.html): measure the next
            if "navigated" not in str(error) or attempt == 2:
                raise
            browser.events = [e for e in browser.events
                              if e.get("method") != "Page.loadEventFired"]
            browser.wait_for("Page.loadEventFired")
    result["errors"] = page_errors(browser, session)
    browser.send("Target.closeTarget", {"targetId": target})
    return result


def page_errors(browser, session):
    """Uncaught exceptions, console errors and failed requests seen so far in ``session``."""
    errors = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if event.get("sessionId") not in (None, session):
            continue
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            exception = details.get("exception", {}).get("description", "")
            errors.append(f"{details.get('text', 'exception')} {exception} "
                          f"({details.get('url', '')}:{details.get('lineNumber', '')})")
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            errors.append(f"request failed: {params.get('errorText')}")
    return errors


class Tab:
    """A page kept open for interaction, at ``WIDTH`` px, networking off like `open_page`:
    `evaluate` runs JavaScript in it, `press` types a key into the focused element (real
    keyboard events), `errors` lists what went wrong so far. Close it with `close`."""

    def __init__(self, browser, url):
        self.browser = browser
        self.target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget",
                                    {"targetId": self.target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            browser.send(f"{domain}.enable", session=self.session)
        browser.send("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            session=self.session)
        browser.events.clear()
        browser.send("Page.navigate", {"url": url}, session=self.session)
        browser.wait_for("Page.loadEventFired")

    def evaluate(self, expression):
        """The value of ``expression`` (awaited if it is a promise), as JSON-able data."""
        reply = self.browser.send("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True},
            session=self.session)
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"].get("exception", {})
                               .get("description", reply["exceptionDetails"]))
        return reply["result"].get("value")

    def press(self, key, code=None, key_code=0):
        """Press and release ``key`` (a DOM key name such as "ArrowRight")."""
        for kind in ("keyDown", "keyUp"):
            self.browser.send("Input.dispatchKeyEvent", {
                "type": kind, "key": key, "code": code or key,
                "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code},
                session=self.session)

    def errors(self):
        return page_errors(self.browser, self.session)

    def close(self):
        self.browser.send("Target.closeTarget", {"targetId": self.target})
