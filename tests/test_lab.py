"""The learner's JupyterLab (`make lab`): nbgrader's instructor tools are off, the learner's stay;
JupyterLab's options are the learner's (their own root folder, --allow-root), and --help is the
course's.

Starts the real server on 127.0.0.1 (a free port, a token, at most two minutes) and stops it.
"""
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from autograder.exercise_db import exercise_db
from autograder.authoring import book_url
from autograder import lab as learner_lab
from autograder.lab import INSTRUCTOR_LAB_PLUGINS
from tests.conftest import EXERCISES, REPO

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


@contextlib.contextmanager
def _running_lab(*options):
    """Start ``python -m autograder lab`` with these options; yield its address (the host's
    root: add the ``--ServerApp.base_url`` given, if any). Its log goes to a file, which a pipe
    nobody reads would fill and so stall the server."""
    port = _free_port()
    base_url = next((o.partition("=")[2] for o in options
                     if o.startswith("--ServerApp.base_url=")), "/")
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "autograder", "lab", "--no-browser", f"--port={port}",
         "--ServerApp.token=learner", "--allow-root", *options],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}{base_url}api/status?token=learner")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                log.seek(0)
                pytest.fail(f"jupyter lab stopped: {log.read()[-2000:]}")
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
        log.close()


def _listing(base):
    """The names at the root of the folder the server serves (its contents API)."""
    status, body = _get(f"{base}/api/contents?token=learner")
    assert status == 200
    return {item["name"] for item in json.loads(body)["content"]}


@pytest.fixture(scope="module")
def learner_folder(tmp_path_factory):
    """A learner's own folder, not the repository's exercises/."""
    folder = tmp_path_factory.mktemp("lab")
    (folder / "my-notes.txt").write_text("mine\n")
    return folder


@pytest.fixture(scope="module")
def lab(learner_folder):
    with _running_lab(f"--ServerApp.root_dir={learner_folder}") as base:
        yield base


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


def test_each_notebook_links_its_chapter_by_title(lab):
    """The intro names its chapter by title, a link the server serves (not a source path)."""
    import re
    for name in sorted(_assignments()):
        text = (EXERCISES / name / f"{name}.ipynb").read_text()
        assert "book/" + name + ".md" not in text, name
        links = re.findall(r"\]\((/static/book/\d\d_\w+\.html)\)", text)
        assert links, name
        for link in set(links):
            status, html = _get(f"{lab}{link}")
            assert status == 200 and "<h1>" in html, link


def _assignments():
    return {path.name for path in EXERCISES.iterdir() if path.is_dir()}


def test_the_learners_root_folder_is_served_not_exercises(lab, learner_folder):
    """``--ServerApp.root_dir=DIR`` serves DIR: exercises/ is only the default (it was passed as
    a positional folder, which beat the learner's option: they edited the repository's copy)."""
    listing = _listing(lab)
    assert "my-notes.txt" in listing
    assert not _assignments() & listing


@pytest.mark.parametrize("how", ["default", "positional", "--notebook-dir"])
def test_the_root_folder_is_exercises_unless_one_is_given(how, learner_folder):
    options = {"default": [], "positional": [str(learner_folder)],
               "--notebook-dir": [f"--notebook-dir={learner_folder}"]}[how]
    with _running_lab(*options) as base:
        listing = _listing(base)
    if how == "default":
        assert _assignments() <= listing and "my-notes.txt" not in listing
    else:
        assert "my-notes.txt" in listing and not _assignments() & listing


def _cli(*arguments, as_root=False):
    """Run ``python -m autograder lab ARGUMENTS`` (as if by root: the check of the user's id
    sees 0); return the finished process."""
    if as_root:
        command = [sys.executable, "-c",
                   "import os, sys; os.geteuid = lambda: 0; "
                   "from autograder.__main__ import main; sys.exit(main(sys.argv[1:]))",
                   "lab", *arguments]
    else:
        command = [sys.executable, "-m", "autograder", "lab", *arguments]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_the_courses_own(flag):
    done = _cli(flag)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "exercises/" in text and "instructor tools" in text
    assert "--ServerApp.root_dir" in text and "--allow-root" in text and "--help-all" in text
    assert "--port" in text and "passed on to JupyterLab" in text
    assert "JupyterLab - An extensible computational environment" not in text


def test_help_all_is_jupyterlabs_help():
    done = _cli("--help-all")
    assert done.returncode == 0, done.stderr
    assert "JupyterLab - An extensible computational environment" in done.stdout


def test_as_root_it_stops_before_jupyterlab_and_says_how():
    done = _cli("--no-browser", "--port=1", as_root=True)
    assert done.returncode == 2
    assert "--allow-root" in done.stderr
    assert "-m autograder lab --allow-root --no-browser --port=1" in done.stderr


def test_allow_root_is_passed_on_never_added():
    options = ["--no-browser", "--port=8890", "--allow-root"]
    command = learner_lab.jupyter_command(options, as_root=True)
    assert command[1:] == ["lab", *options]
    assert os.path.basename(command[0]) == "jupyter"
    assert learner_lab.jupyter_command(["--ServerApp.allow_root=True"], as_root=True)[2:] == [
        "--ServerApp.allow_root=True"]
    assert "--allow-root" not in learner_lab.jupyter_command(["--no-browser"], as_root=False)
    for refused in ([], ["--no-browser"], ["--ServerApp.allow_root=False"]):
        with pytest.raises(learner_lab.LabUsageError, match="--allow-root"):
            learner_lab.jupyter_command(refused, as_root=True)


def test_the_learners_options_come_after_no_default_folder():
    """Nothing is put before or among the learner's options: no positional exercises/ (it
    would beat --ServerApp.root_dir), no --ip (the defaults are in the configuration)."""
    options = ["--ServerApp.root_dir=/somewhere", "--ip=0.0.0.0"]
    assert learner_lab.jupyter_command(options, as_root=False)[1:] == ["lab", *options]
