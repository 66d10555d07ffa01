"""Small fixes that keep the built book free of console errors, offline.

* sphinx-thebe registers its inline configuration script on every ``env-before-read-docs``;
  when Jupyter Book fires that event twice the page declares ``const THEBE_JS_URL`` twice and the
  browser reports a SyntaxError. Each page keeps one copy of every script.
* pydata-sphinx-theme logs "Got invalid theme mode" when its template variable ``default_mode``
  is empty, and sphinx-book-theme offers no option to set it: each page gets "light".
"""


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


def setup(app):
    app.connect("html-page-context", _fix_page, priority=1000)   # after every other handler
    return {"parallel_read_safe": True, "parallel_write_safe": True}
