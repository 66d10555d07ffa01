"""The exercises' links to the book, wherever the notebook is opened: a Jupyter server extension.

A notebook's parts link their section of the book (`autograder.authoring.book_url`). The link a
notebook file holds (its *written* form) is

* ``/static/book/<page>.html#<label>`` (`BOOK_URL_PREFIX`), or
* the published book's address, ``<html.baseurl>/book/<page>.html#<label>``, when ``_config.yml``
  names one (`published_prefix`): the link then works anywhere, on Colab or GitHub too.

A link that starts with ``/`` is left as it is by JupyterLab, so it is relative to the host's
root, while a Jupyter server may sit under a base URL: JupyterHub serves each user at
``/user/NAME/``, where ``/static/book/...`` is a 404. This extension, loaded by every Jupyter
server of the course's environment (`enable`, which ``make book`` and ``pip install`` run),
rewrites the links of every notebook the server hands out (its contents API) to the address
that works there (`served_prefix`):

* ``{base_url}static/book/`` when this server serves a local build of the book (``make book``
  adds ``_build/html`` to the environment's static paths: `autograder.lab.write_book_config`);
* else the published book, when there is one;
* else nothing changes.

Saving rewrites them back, so the file on disk keeps its written form byte for byte (nbgrader's
checksums of locked cells stay valid, and a notebook is the same whichever server saved it).
Only markdown cells' links are touched; standard library only (jupyter_server is imported by
the server that loads this module, not by it).
"""
from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path

__all__ = ["BOOK_URL_PREFIX", "published_prefix", "written_prefix", "served_prefix",
           "rewrite_links", "enable"]

# Where a Jupyter server of the course's environment serves the rendered book, from its root.
BOOK_URL_PREFIX = "/static/book/"
_CONFIG = Path(__file__).resolve().parent.parent / "_config.yml"
# The file that enables this extension (pyproject.toml installs it as data, `enable` copies it).
ENABLED = Path(__file__).resolve().parent / "jupyter-config" / "autograder.json"
_BASEURL = re.compile(r"^html:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+baseurl:[ \t]*(\S*)", re.M)


def published_prefix(config=None):
    """``<html.baseurl>/book/`` from the book's ``_config.yml`` (Jupyter Book's own key for the
    address the book is published at), or None when it names none or there is no such file."""
    try:
        text = Path(config or _CONFIG).read_text()
    except OSError:
        return None
    found = _BASEURL.search(text + "\n")
    url = found.group(1).strip("'\"") if found else ""
    return f"{url.rstrip('/')}/book/" if url else None


def written_prefix(config=None):
    """The prefix the course writes into notebooks: the published book's, else the server's."""
    return published_prefix(config) or BOOK_URL_PREFIX


def _serves_book(static_paths):
    return any((Path(folder) / "book" / "intro.html").is_file() for folder in static_paths or ())


def served_prefix(base_url, static_paths, published=None):
    """The prefix of links that work on a server at ``base_url`` with these extra static paths:
    its own copy of the book when it serves one, else ``published`` (which may be None)."""
    if _serves_book(static_paths):
        return base_url.rstrip("/") + BOOK_URL_PREFIX
    return published


def rewrite_links(notebook, old_prefixes, new_prefix):
    """Point every markdown link of ``notebook`` (a dict, as nbformat or the contents API gives
    it) that starts with one of ``old_prefixes`` at ``new_prefix`` instead; in place. Returns the
    number of links changed."""
    olds = [old for old in dict.fromkeys(old_prefixes) if old and old != new_prefix]
    if not olds or not new_prefix or not isinstance(notebook, dict):
        return 0
    pattern = re.compile(r"(\]\()(" + "|".join(map(re.escape, olds)) + r")")
    changed = 0
    for cell in notebook.get("cells") or ():
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source")
        joined = "".join(source) if isinstance(source, list) else source
        if not isinstance(joined, str):
            continue
        text, count = pattern.subn(lambda m: m.group(1) + new_prefix, joined)
        if count:
            cell["source"] = text
            changed += count
    return changed


def _notebook_content(model):
    if isinstance(model, dict) and model.get("type") == "notebook":
        return model.get("content")
    return None


def _wrap(method, change):
    """``method`` (sync or async, as the contents manager has it) with ``change`` applied."""
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def wrapped(*args, **kwargs):
            return await change(method, *args, **kwargs)
    else:
        @functools.wraps(method)
        def wrapped(*args, **kwargs):
            return change(method, *args, **kwargs)
    return wrapped


def _install(contents_manager, served, written):
    """Rewrite on ``get``, write back on ``save``, on this contents manager instance."""
    reads = (BOOK_URL_PREFIX, written)

    def on_get(method, *args, **kwargs):
        result = method(*args, **kwargs)
        if inspect.isawaitable(result):
            async def later():
                model = await result
                rewrite_links(_notebook_content(model), reads, served)
                return model
            return later()
        rewrite_links(_notebook_content(result), reads, served)
        return result

    def on_save(method, model, *args, **kwargs):
        rewrite_links(_notebook_content(model), (served,), written)
        return method(model, *args, **kwargs)

    contents_manager.get = _wrap(contents_manager.get, on_get)
    contents_manager.save = _wrap(contents_manager.save, on_save)


def _jupyter_server_extension_points():
    return [{"module": "autograder.book_links"}]


def _load_jupyter_server_extension(serverapp):
    """Called by jupyter_server at start-up: wrap this server's contents manager."""
    served = served_prefix(serverapp.base_url, serverapp.extra_static_paths, published_prefix())
    written = written_prefix()
    if served and served != written:
        _install(serverapp.contents_manager, served, written)
    serverapp.log.info("autograder.book_links: the book's links point at %s", served or written)


def enable(prefix):
    """Enable the extension for every Jupyter server of the environment at ``prefix`` (a
    ``sys.prefix``): the ``jupyter_server_config.d`` file that ``pip install`` also puts there.
    Returns the file."""
    folder = Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.d"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ENABLED.name
    path.write_text(ENABLED.read_text())
    return path
