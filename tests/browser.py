"""A minimal headless-Chromium driver over the DevTools protocol on a pipe (no extra packages).

`open_page` loads a page with networking off and reports what a reader would notice: uncaught
exceptions and console errors, failed requests, images that did not load, math left
untypeset by MathJax, and tables (rendered ones, and Markdown tables left as raw pipe text).
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


def _high_pipe():
    """A pipe whose two descriptors are 10 or above (clear of the 3 and 4 Chromium reads)."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return tuple(ends)


class Browser:
    """Chromium with its DevTools endpoint on file descriptors 3 (commands) and 4 (replies)."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        to_browser_read, self._to_browser = _high_pipe()
        self._from_browser, from_browser_write = _high_pipe()

        def wire():
            os.dup2(to_browser_read, 3)       # both sources are >= 10, so neither is clobbered
            os.dup2(from_browser_write, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
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


def open_page(browser, url, settle=1.0):
    """Load ``url`` in a new tab; return a dict of what went wrong (empty lists when nothing)."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired")
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
    result["errors"] = errors
    browser.send("Target.closeTarget", {"targetId": target})
    return result
