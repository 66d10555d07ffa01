"""The learner's JupyterLab (`make lab`): nbgrader's instructor tools are off, the learner's stay.

Starts the real server on 127.0.0.1 (a free port, a token, at most two minutes) and stops it.
"""
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from autograder.exercise_db import exercise_db
from autograder.authoring import book_url
from autograder.lab import INSTRUCTOR_LAB_PLUGINS
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "autograder", "lab", "--no-browser", f"--port={port}",
         "--ServerApp.token=learner", "--allow-root",
         f"--ServerApp.root_dir={tmp_path_factory.mktemp('lab')}"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/api/status?token=learner")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                pytest.fail(f"jupyter lab stopped: {server.stderr.read()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not start within 120 s")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_instructor_extensions_are_off_and_learner_ones_stay(lab):
    status, page = _get(f"{lab}/lab?token=learner")
    assert status == 200
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>',
                                  page, re.S).group(1))
    disabled = set(config["disabledExtensions"])
    assert set(INSTRUCTOR_LAB_PLUGINS) <= disabled
    assert not {"@jupyter/nbgrader:assignment-list",
                "@jupyter/nbgrader:validate-assignment"} & disabled


def test_the_formgrader_is_not_served(lab):
    assert _get(f"{lab}/formgrader?token=learner")[0] == 404


def test_every_part_links_to_a_section_the_server_serves(lab):
    """The parts' links (`/static/book/...#section`) open the rendered book from any JupyterLab
    of this environment: this server's root is a scratch folder, not the repository."""
    pages = {}
    for info in exercise_db.values():
        url = book_url(info.section)
        page, _, anchor = url.partition("#")
        if page not in pages:
            pages[page] = _get(f"{lab}{page}")   # no token: the book is public static content
        status, html = pages[page]
        assert status == 200, url
        assert f'id="{anchor}"' in html, url
    status, css = _get(f"{lab}/static/_static/styles/theme.css")
    assert status == 200 and css
