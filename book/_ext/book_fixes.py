"""Small fixes that keep the built book free of console errors, offline.

* sphinx-thebe registers its inline configuration script on every ``env-before-read-docs``;
  when Jupyter Book fires that event twice the page declares ``const THEBE_JS_URL`` twice and the
  browser reports a SyntaxError. Each page keeps one copy of every script.
* pydata-sphinx-theme logs "Got invalid theme mode" when its template variable ``default_mode``
  is empty, and sphinx-book-theme offers no option to set it: each page gets "light".
* Citations read "Yu and Koltun (2016)" and "(Yu and Koltun, 2016)": sphinxcontrib-bibtex's
  author-year style with round brackets, registered as ``author_year_round``.
* Launch buttons link a page's source in the public repository (``repository.url``), and
  sphinx-book-theme stops the build when a launch provider is set but that address is empty:
  until the course has a public repository, the providers are switched off.
* Code blocks use a font size at which 88 columns fit the text column at 1280 px
  (``static/book.css``).
* A page that holds the convolution explorer (``<div class="conv-explorer">``) gets its
  scripts and stylesheet (``static/conv_*``), and depends on them: editing one re-reads the
  page, so that Sphinx writes it and copies the new file (a build with nothing out of date
  copies no static file), and the page (``mystnb: execution_mode: force``) re-runs its check
  of the arithmetic against PyTorch.
"""
from dataclasses import dataclass, field
from pathlib import Path

import sphinxcontrib.bibtex.plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclass
class RoundAuthorYearStyle(AuthorYearReferenceStyle):
    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)


sphinxcontrib.bibtex.plugin.register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearStyle)


def _fix_page(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):
        context["default_mode"] = "light"
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", None) or {}
        key = (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


STATIC = Path(__file__).parent / "static"
EXPLORER = '<div class="conv-explorer"'
EXPLORER_FILES = ("conv_arithmetic.js", "conv_explorer.js", "conv_explorer.css")


def _note_explorer(app, docname, source):
    """A page that holds the explorer is out of date whenever one of its files changes."""
    if EXPLORER in source[0]:
        for name in EXPLORER_FILES:
            app.env.note_dependency(str(STATIC / name))


def _add_explorer(app, pagename, templatename, context, doctree):
    """The explorer's files, on the pages that hold one only."""
    if EXPLORER in context.get("body", ""):
        app.add_js_file("conv_arithmetic.js")
        app.add_js_file("conv_explorer.js")
        app.add_css_file("conv_explorer.css")


def _add_static(app, config):
    """Serve static/ (book.css, the explorer's files) from this extension's folder."""
    config.html_static_path.append(str(STATIC))


def _launch_buttons_need_a_repository(app, config):
    options = config.html_theme_options
    if not options.get("repository_url"):
        options["launch_buttons"] = {}


def setup(app):
    app.connect("html-page-context", _fix_page, priority=1000)   # after every other handler
    app.connect("config-inited", _add_static)
    app.connect("config-inited", _launch_buttons_need_a_repository)
    app.connect("source-read", _note_explorer)
    app.connect("html-page-context", _add_explorer)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
