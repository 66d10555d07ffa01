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


def _add_static(app, config):
    """Serve book.css (the code font that fits 88 columns) from this extension's folder."""
    config.html_static_path.append(str(Path(__file__).parent / "static"))


def _launch_buttons_need_a_repository(app, config):
    options = config.html_theme_options
    if not options.get("repository_url"):
        options["launch_buttons"] = {}


def setup(app):
    app.connect("html-page-context", _fix_page, priority=1000)   # after every other handler
    app.connect("config-inited", _add_static)
    app.connect("config-inited", _launch_buttons_need_a_repository)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
