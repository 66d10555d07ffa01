"""Launch buttons (Binder, the course's JupyterHub, Colab): the course's `_config.yml` asks for
them, and they link each page's source once ``repository.url`` names the public repository.

The course has none yet, so the book has no buttons; this builds a one-page book with the
course's own ``repository`` and ``launch_buttons`` settings and a repository address, and
checks the buttons' links (about 20 s).
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow

PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# A page

```{code-cell} python
print(2 + 2)
```
"""


def _course_settings():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    return config["repository"], config["launch_buttons"]


def test_the_course_has_no_public_repository_so_no_buttons_yet():
    repository, launch = _course_settings()
    assert repository["url"] == ""                  # set it when the course is published
    assert launch["binderhub_url"] and launch["colab_url"]


def _build(tmp_path, repository_url):
    repository, launch = _course_settings()
    book = tmp_path / "book"
    book.mkdir()
    (book / "page.md").write_text(PAGE)
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    config = {"title": "launch", "execute": {"execute_notebooks": "off"},
              "repository": dict(repository, url=repository_url),
              "launch_buttons": dict(launch, jupyterhub_url="https://hub.example.org"),
              "html": {"use_repository_button": False},
              "sphinx": {"local_extensions": {"book_fixes": str(REPO / "book" / "_ext")}}}
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    done = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build",
                           "-W", "-n", str(book)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = (book / "_build" / "html" / "page.html").read_text()
    shutil.rmtree(book / "_build")
    return html


def test_a_repository_address_gives_every_page_binder_hub_and_colab_buttons(tmp_path):
    html = _build(tmp_path, "https://github.com/course-org/convolutions-hands-on")
    assert ("https://mybinder.org/v2/gh/course-org/convolutions-hands-on/main?"
            "urlpath=lab/tree/page.md") in html
    assert "https://hub.example.org/hub/user-redirect/git-pull?repo=" in html
    assert "https://colab.research.google.com/github/course-org/convolutions-hands-on/blob/main/" \
        "page.md" in html


def test_without_one_the_build_stays_clean_and_shows_none(tmp_path):
    html = _build(tmp_path, "")
    assert "mybinder.org" not in html and "colab.research.google.com" not in html
