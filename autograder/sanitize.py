"""Learner text made inert: the one place where a submission's markup is neutralised.

Everything the grader writes that a person opens later (the learner's feedback page, the
instructor's report, the autograded notebook that nbgrader's formgrader renders with
``sanitize_html=False``, on the Jupyter origin) shows learner text through this module. The
contract, for all of them: **no markup from a learner is live**. Concretely:

* no tag, attribute, script, style sheet, frame, form, meta refresh or event handler written by a
  learner reaches a page: raw HTML is escaped (shown as text);
* no URL written by a learner is loaded or made clickable: images are shown as their alt text,
  links as their text, bare URLs as text; no ``javascript:``/``data:`` URL is emitted;
* math stays math, without the TeX extensions that set HTML attributes or move boxes around
  (``\\style``, ``\\class``, ``\\cssId``, ``\\href``, ``\\url``, ``\\data``, ``\\html``,
  ``\\require``, ``\\unicode``, ``\\bbox``, ``\\enclose``, ``\\mmlToken``, tooltips, ``\\raise``,
  ``\\lower``, ``\\smash``, rules, ``\\arraystretch``, negative row spacing ...);
* nothing a learner writes can be positioned over the grader's own content (no ``style``, no
  ``class`` or ``id`` chosen by the learner, no displacement beyond a few ems).

The functions:

`escape(value)`
    ``html.escape(str(value), quote=True)``: text for HTML text and quoted attribute values.
`safe_mathml(tex, display)`
    TeX to MathML (latex2mathml), then an allow-list: MathML elements only, and per element only
    presentation attributes with checked values (``mathvariant``, ``display``, ``stretchy``,
    ``fence``, ``separator``, ``form``, ``accent``, ``lspace``/``rspace``, ``minsize``/``maxsize``,
    ``width``/``height``/``depth`` on ``mspace`` as bounded plain lengths ...). ``style``,
    ``href``, ``class``, ``id``, ``on*``, ``xlink:*`` and everything not listed are dropped.
`markdown_html(source)`
    Markdown to HTML for the feedback page (mistune): raw HTML escaped, links without href,
    images as "[image: alt]", ``$...$``/``$$...$$`` as `safe_mathml`.
`sanitize_markdown(source)`
    Markdown to inert *markdown*, for notebooks that nbconvert renders later (formgrader, with
    MathJax): still readable as markdown (headings, lists, tables, emphasis, code, math), with
    raw HTML, link and image syntax, bare URLs, character references and the TeX commands above
    neutralised. The result is checked by rendering it with nbconvert's own markdown renderer
    (the one formgrader uses): if anything but plain formatting comes out, the cell is shown as
    a fenced code block of its text instead.
`sanitize_notebook(nb)`
    A notebook (nbformat ``NotebookNode`` or plain dict, v4) rebuilt from an allow-list; see its
    docstring.
"""
from __future__ import annotations

import copy
import html
import math
import re
import uuid
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

__all__ = ["escape", "safe_mathml", "markdown_html", "sanitize_markdown", "sanitize_notebook",
           "neutralise_tex", "BLOCKED_TEX"]


def escape(value) -> str:
    """HTML-escape ``str(value)``, quotes included (safe in text and in quoted attributes)."""
    return html.escape(str(value), quote=True)


# --- TeX ----------------------------------------------------------------------------------------

# TeX control words that set HTML attributes or load code (MathJax's html, bbox, enclose, action,
# unicode, require extensions; latex2mathml keeps \style, \class and \href as attributes), or that
# move a box out of its line so that it could be drawn over other content.
BLOCKED_TEX = ("style", "class", "cssId", "href", "url", "data", "html", "require", "unicode",
               "bbox", "enclose", "mmlToken", "toggle", "texttip", "mathtip", "tooltip",
               "fragment", "raise", "lower", "moveleft", "moveright", "raisebox", "smash",
               "rule", "Rule", "Space", "arraystretch")
_BLOCKED_TEX = re.compile(r"\\(" + "|".join(BLOCKED_TEX) + r")(?![A-Za-z])", re.I)
# a line break with negative extra space, \\[-30em], which pulls the next row over earlier ones
_NEGATIVE_BREAK = re.compile(r"(\\\\|\\cr(?![A-Za-z])|\\newline(?![A-Za-z]))(\s*)(?=\[\s*-)")
_INERT_BACKSLASH = "\u29f5"   # ⧵ REVERSE SOLIDUS OPERATOR: reads as a backslash, is not one


def neutralise_tex(text: str) -> str:
    r"""``text`` with every blocked TeX control word (`BLOCKED_TEX`, any case) written with ⧵
    (U+29F5) instead of its backslash: ``\style{...}{x}`` becomes ``⧵style{...}{x}``, which no
    TeX engine reads as a command and a reader still recognises; and a line break with negative
    extra space (``\\[-30em]``) gets ``{}`` after it, so that its bracket is text, not space."""
    text = _BLOCKED_TEX.sub(lambda m: _INERT_BACKSLASH + m.group(1), text)
    return _NEGATIVE_BREAK.sub(r"\1{}\2", text)


# --- MathML (feedback page) ---------------------------------------------------------------------

_MATHML_ELEMENTS = frozenset(
    "math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mover munder "
    "munderover mtable mtr mtd mlabeledtr mstyle mpadded mphantom menclose merror mmultiscripts "
    "mprescripts none mfenced semantics".split())

_UNITS_IN_EM = {"": 1.0, "em": 1.0, "ex": 0.5, "mu": 1 / 18, "px": 1 / 16, "pt": 1 / 12,
                "pc": 1.0, "mm": 1 / 4.2, "cm": 1 / 0.42, "in": 6.0, "%": 0.01}
_LENGTH = re.compile(r"\s*[+-]?(\d+(?:\.\d*)?|\.\d+)\s*(em|ex|mu|px|pt|pc|mm|cm|in|%)?\s*\Z")
_NAMED_SPACE = re.compile(r"(negative)?(very){0,2}(thin|thick)mathspace\Z|(negative)?mediummathspace\Z")
MAX_LENGTH_EM = 10.0          # no box is moved or sized by more than this (a few lines of text)


def _length(value, named=False, negative=True):
    """Whether ``value`` is a plain length of at most MAX_LENGTH_EM (or a named math space)."""
    if named and _NAMED_SPACE.match(value):
        return negative or not value.startswith("negative")
    m = _LENGTH.match(value)
    return (bool(m) and float(m.group(1)) * _UNITS_IN_EM[m.group(2) or ""] <= MAX_LENGTH_EM
            and (negative or not value.strip().startswith("-")))


def _spacing(value):
    """A non-negative length (rows, columns and boxes never overlap)."""
    return _length(value, named=True, negative=False)


def _words(*allowed):
    allowed = frozenset(allowed)
    return lambda v: 0 < len(v.split()) <= 64 and all(w in allowed for w in v.split())


_BOOL = _words("true", "false")
_ALIGN = _words("left", "center", "right", "top", "bottom", "baseline", "axis", "decimalpoint")
_LINES = _words("none", "solid", "dashed")
_COLOR = re.compile(r"(#[0-9a-fA-F]{3,8}|[A-Za-z]{1,32})\Z").match
_LENGTHS = lambda v: 0 < len(v.split()) <= 64 and all(_spacing(w) for w in v.split())  # noqa: E731
_ANY_ELEMENT = None

# attribute -> (value check, elements it may appear on or _ANY_ELEMENT)
_MATHML_ATTRIBUTES = {
    "display": (_words("inline", "block"), {"math"}),
    "mathvariant": (_words(
        "normal", "bold", "italic", "bold-italic", "double-struck", "bold-fraktur", "script",
        "bold-script", "fraktur", "sans-serif", "bold-sans-serif", "sans-serif-italic",
        "sans-serif-bold-italic", "monospace", "initial", "tailed", "looped", "stretched"),
        _ANY_ELEMENT),
    "stretchy": (_BOOL, {"mo"}), "fence": (_BOOL, {"mo"}), "separator": (_BOOL, {"mo"}),
    "symmetric": (_BOOL, {"mo"}), "largeop": (_BOOL, {"mo"}), "movablelimits": (_BOOL, {"mo"}),
    "form": (_words("prefix", "infix", "postfix"), {"mo"}),
    "lspace": (lambda v: _length(v, True), {"mo", "mpadded"}),
    "rspace": (lambda v: _length(v, True), {"mo"}),
    "minsize": (_length, {"mo"}), "maxsize": (_length, {"mo"}),
    "accent": (_BOOL, {"mover", "munderover", "mo"}),
    "accentunder": (_BOOL, {"munder", "munderover"}),
    "width": (lambda v: _length(v, True), {"mspace", "mpadded", "mtable"}),
    "height": (_spacing, {"mspace"}), "depth": (_spacing, {"mspace"}),
    "linebreak": (_words("auto", "newline", "nobreak", "goodbreak", "badbreak"), {"mspace"}),
    "displaystyle": (_BOOL, _ANY_ELEMENT),
    "scriptlevel": (re.compile(r"[+-]?[0-7]\Z").match, _ANY_ELEMENT),
    "mathsize": (_length, _ANY_ELEMENT),
    "mathcolor": (_COLOR, _ANY_ELEMENT), "mathbackground": (_COLOR, _ANY_ELEMENT),
    "linethickness": (lambda v: _length(v) or v in ("thin", "medium", "thick"), {"mfrac"}),
    "notation": (_words(
        "longdiv", "actuarial", "phasorangle", "radical", "box", "roundedbox", "circle", "left",
        "right", "top", "bottom", "updiagonalstrike", "downdiagonalstrike", "verticalstrike",
        "horizontalstrike", "northeastarrow", "madruwb", "updiagonalarrow"), {"menclose"}),
    "columnalign": (_ALIGN, {"mtable", "mtr", "mtd", "mlabeledtr"}),
    "rowalign": (_ALIGN, {"mtable", "mtr", "mtd", "mlabeledtr"}),
    "columnlines": (_LINES, {"mtable"}), "rowlines": (_LINES, {"mtable"}),
    "frame": (_LINES, {"mtable"}),
    "columnspacing": (_LENGTHS, {"mtable"}), "rowspacing": (_LENGTHS, {"mtable"}),
    "framespacing": (_LENGTHS, {"mtable"}),
    "equalrows": (_BOOL, {"mtable"}), "equalcolumns": (_BOOL, {"mtable"}),
    "rowspan": (re.compile(r"[1-9]\d?\Z").match, {"mtd"}),
    "columnspan": (re.compile(r"[1-9]\d?\Z").match, {"mtd"}),
    "open": (lambda v: len(v) <= 2, {"mfenced"}), "close": (lambda v: len(v) <= 2, {"mfenced"}),
    "separators": (lambda v: len(v) <= 8, {"mfenced"}),
}


def _clean_mathml(element) -> None:
    """Apply the element and attribute allow-lists to ``element`` and below, in place."""
    for node in element.iter():
        tag = node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else "mrow"
        if tag not in _MATHML_ELEMENTS:
            tag = "mrow"
        node.tag = tag
        for name in list(node.attrib):
            rule = _MATHML_ATTRIBUTES.get(name)
            value = str(node.attrib[name])
            if (rule is None or (rule[1] is not _ANY_ELEMENT and tag not in rule[1])
                    or not rule[0](value)):
                del node.attrib[name]


_CHARREF = re.compile(r"&amp;(#x?[0-9A-Fa-f]+;)")


def safe_mathml(tex: str, display: str = "inline") -> str:
    """``tex`` as a ``<math>`` element (no namespace URL; text escaped) whose elements and
    attributes all pass the MathML allow-list (see the module docstring), or the TeX in
    ``<code>`` (escaped) if latex2mathml cannot convert it. ``display`` is "inline" or "block".
    """
    from latex2mathml.converter import convert_to_element

    try:
        element = convert_to_element(tex, display="block" if display == "block" else "inline")
        _clean_mathml(element)
        return _CHARREF.sub(r"&\1", ET.tostring(element, encoding="unicode"))
    except Exception:  # latex2mathml rejects some TeX: show it as written
        return f"<code>{escape(tex)}</code>"


# --- Markdown to HTML (feedback page) -----------------------------------------------------------

# fenced or inline code (left alone), then $$display$$, then $inline$ math
_FEEDBACK_MATH = re.compile(
    r"(```.*?```|~~~.*?~~~|`[^`\n]*`)|(?<!\\)\$\$(.+?)\$\$|(?<![\\$])\$((?:\\.|[^$\\])+?)\$", re.S)
_markdown = None


def _feedback_markdown():
    global _markdown
    if _markdown is None:
        import mistune

        class OfflineRenderer(mistune.HTMLRenderer):
            """Links keep their text and show the address as text; images show their alt."""

            def link(self, text, url, title=None):
                return text if url.startswith("#") else f'{text} <span class="muted">({escape(url)})</span>'

            def image(self, text, url, title=None):
                return f'<span class="muted">[image: {escape(text)}]</span>'

        _markdown = mistune.create_markdown(escape=True, renderer=OfflineRenderer(escape=True),
                                            plugins=["table", "strikethrough"])
    return _markdown


def markdown_html(source: str) -> str:
    """Markdown to HTML, offline and inert: raw HTML is escaped, links carry no href (their
    address is shown as text), images show their alt text, and ``$...$`` / ``$$...$$`` become
    `safe_mathml` (protected from the markdown renderer by placeholders)."""
    maths, tag = [], "MATHXPH"
    while tag in source:  # a placeholder that the source cannot contain
        tag += "X"

    def protect(m):
        if m.group(1) or (m.group(3) and "\n\n" in m.group(3)):
            return m.group(0)
        display = m.group(2) is not None
        maths.append(safe_mathml(m.group(2) if display else m.group(3),
                                 "block" if display else "inline"))
        return f"{tag}{len(maths) - 1}Z"

    rendered = _feedback_markdown()(_FEEDBACK_MATH.sub(protect, source))
    return re.sub(tag + r"(\d+)Z", lambda m: maths[int(m.group(1))], rendered)


# --- Markdown to inert markdown (notebooks for nbconvert / formgrader) ---------------------------

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)\Z")
# What nbconvert's MarkdownWithMath reads as math (its own patterns), a backslash escape, and a
# code span opener, in its order: the leftmost match wins, ties go to the earlier rule.
_INLINE = re.compile("|".join([
    r"(?P<math>(?<!\\)\$\$.*?(?<!\\)\$\$"
    r"|(?<!\\)\\\\\[.*?(?<!\\)\\\\\]"
    r"|(?<![$\\])\$.+?(?<![$\\])\$"
    r"|(?<!\\)\\\\\(.*?(?<!\\)\\\\\)"
    r"|\\begin\{(?P<env>[a-z]*\*?)\}.*?\\end\{(?P=env)\})",
    r"(?P<escape>(?:\\[!-/:-@\[-`{-~])+)",
    r"(?P<code>`+)",
]), re.S)
# a character reference other than the four that only ever spell <, >, & and " (kept, so that
# this escaping is idempotent: its own "&lt;" stays as it is)
_CHARACTER_REFERENCE = re.compile(
    r"&(?!(?:lt|gt|amp|quot);)(?=#[0-9]{1,8};|#[xX][0-9a-fA-F]{1,8};|[A-Za-z][A-Za-z0-9]{0,40};)")
_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]])")
_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}):(?=//)")
_INFO = re.compile(r"[A-Za-z0-9_+.#-]{1,32}\Z")


def _escape_markdown_text(text: str) -> str:
    """Plain markdown text with no HTML, link, image, autolink or character reference left."""
    text = _CHARACTER_REFERENCE.sub("&amp;", text)        # &#92; stays "&#92;", not a backslash
    text = text.replace("<", "&lt;")                       # tags, comments, <autolinks>
    text = _BRACKET.sub(r"\1\\\2", text)                  # [text](url), ![alt](src), [ref]: url
    return _URL_SCHEME.sub(r"\1\\:", text)                # bare http://... autolinks


# a line that could start a block (and so end the paragraph a code span is in): blank, heading,
# quote, list item, HTML, fence, table, definition, setext underline or thematic break
_BLOCK_START = re.compile(r"\n[ \t]*(?:$|[#>*+<`~|:=_-]|\d{1,9}[.)])", re.M)


def _one_paragraph(code: str) -> bool:
    """Whether a code span's text stays inside one paragraph whatever the parser (no line of it
    could start a block)."""
    return not _BLOCK_START.search(code)


def _inline_segments(text: str):
    """Split a non-fenced stretch of markdown into ("math"|"code"|"text", str) pieces."""
    pos, out = 0, []
    while pos < len(text):
        m = _INLINE.search(text, pos)
        if m is None:
            break
        if m.start() > pos:
            out.append(("text", text[pos:m.start()]))
        if m.group("math") is not None:
            body = m.group("math")
            if body.startswith("$") and not body.startswith("$$") and re.search(r"\n[ \t]*\n", body):
                out.append(("text", "$"))                 # inline math never spans paragraphs
                pos = m.start() + 1
                continue
            out.append(("math", body))
            pos = m.end()
        elif m.group("escape") is not None:
            out.append(("text", m.group("escape")))
            pos = m.end()
        else:
            marker = m.group("code")
            close = re.compile(r"(?<!`)" + marker + r"(?!`)")
            end = close.search(text, m.end())
            if end is None or not _one_paragraph(text[m.end():end.start()]):
                out.append(("text", marker))
                pos = m.end()
            else:
                out.append(("code", text[m.start():end.end()]))
                pos = end.end()
    if pos < len(text):
        out.append(("text", text[pos:]))
    return out


def _blocks(source: str):
    """Split markdown into ("fence", lines) and ("other", text) pieces (CommonMark fences)."""
    lines = source.splitlines(keepends=True)
    out, other, i = [], [], 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].rstrip("\r\n"))
        if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            if other:
                out.append(("other", "".join(other)))
                other = []
            fence = m.group(1)
            closing = re.compile(r" {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*\Z")
            j = i + 1
            while j < len(lines) and not closing.match(lines[j].rstrip("\r\n")):
                j += 1
            out.append(("fence", lines[i:j + 1]))
            i = j + 1
        else:
            other.append(lines[i])
            i += 1
    if other:
        out.append(("other", "".join(other)))
    return out


def _safe_fence(lines):
    """A fenced code block whose info string is a plain language name (never "mermaid")."""
    first = lines[0]
    m = _FENCE_OPEN.match(first.rstrip("\r\n"))
    info = m.group(2).strip()
    word = info.split()[0] if info.split() else ""
    if not _INFO.match(word) or word.lower().startswith("mermaid"):
        word = ""
    indent = first[:len(first) - len(first.lstrip(" "))]
    newline = first[len(first.rstrip("\r\n")):]
    return "".join([indent + m.group(1) + word + newline, *lines[1:]])


def as_code_block(text: str, note: str = "") -> str:
    """``text`` as a markdown fenced code block that nothing inside can close (shown verbatim,
    escaped, by every markdown renderer), after an optional italic ``note`` line."""
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    head = f"*{note}*\n\n" if note else ""
    return f"{head}{fence}\n{text}{'' if text.endswith(chr(10)) or not text else chr(10)}{fence}\n"


def _transform_markdown(source: str) -> str:
    out = []
    for kind, piece in _blocks(neutralise_tex(source)):
        if kind == "fence":
            out.append(_safe_fence(piece))
            continue
        for sub, text in _inline_segments(piece):
            out.append(_escape_markdown_text(text) if sub == "text" else text)
    return "".join(out)


# What nbconvert may make of inert markdown: formatting, tables, code (pygments), heading anchors.
_ALLOWED_TAGS = frozenset(
    "p br hr h1 h2 h3 h4 h5 h6 em strong del s code pre span div ul ol li blockquote table thead "
    "tbody tfoot tr th td dl dt dd a sup sub".split())
_TEXT_ALIGN = re.compile(r"text-align:\s*(left|center|right)\s*;?\Z")
_CLASS_TOKEN = re.compile(r"(language-[A-Za-z0-9_+.#-]{1,32}|highlight|anchor-link|[a-z]{1,3}[0-9]?)\Z")
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())


class _InertCheck(HTMLParser):
    """Records whether rendered markdown holds anything beyond plain formatting."""

    def __init__(self, reserved_ids=frozenset()):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.text = []
        self.reserved_ids = reserved_ids

    def handle_starttag(self, tag, attrs):
        if tag not in _ALLOWED_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            ok = ((name == "style" and tag in ("th", "td") and _TEXT_ALIGN.match(value))
                  or (name == "class" and all(_CLASS_TOKEN.match(c) for c in value.split())
                      and "mermaid" not in value)
                  or (name == "id" and tag in _HEADINGS)
                  or (name == "href" and tag == "a" and dict(attrs).get("class") == "anchor-link"
                      and value.startswith("#"))
                  or (name == "start" and tag == "ol" and value.isdigit() and len(value) < 10))
            if not ok:
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "a" and dict(attrs).get("class") != "anchor-link":
            self.problems.append("<a> not an anchor link")
        if tag in _HEADINGS and (dict(attrs).get("id") in self.reserved_ids
                                 or str(dict(attrs).get("id")).startswith("cell-id=")):
            self.problems.append(f"heading id {dict(attrs).get('id')!r} is one of the page's own")

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.problems.append("comment")

    def handle_decl(self, decl):
        self.problems.append("declaration")

    def handle_pi(self, data):
        self.problems.append("processing instruction")

    def unknown_decl(self, data):
        self.problems.append("declaration")


def _nbconvert_problems(markdown: str, reserved_ids=frozenset()):
    """What is not inert in nbconvert's rendering of ``markdown`` (an empty list when all is
    well), or None when nbconvert is not installed. A heading whose anchor id is one of
    ``reserved_ids`` (or a cell anchor's) is a problem too: it would take that id from the page."""
    try:
        from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    except ImportError:
        return None
    try:
        rendered = MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments={})).render(markdown)
    except Exception as error:         # a renderer that fails would fail formgrader's page too
        return [f"render failed: {type(error).__name__}"]
    check = _InertCheck(frozenset(reserved_ids))
    check.feed(rendered)
    check.close()
    if _BLOCKED_TEX.search("".join(check.text)):   # what MathJax would read in the page
        check.problems.append("blocked TeX command in the rendered text")
    return check.problems


def sanitize_markdown(source: str, reserved_ids=frozenset()) -> str:
    r"""Markdown made inert but still markdown (for notebooks that nbconvert renders).

    Outside code and math: ``<`` becomes ``&lt;`` (no raw HTML, comments or ``<autolinks>``),
    ``[`` and ``]`` are backslash-escaped (no links, images or link reference definitions; they
    show as written), ``scheme://`` becomes ``scheme\://`` (no bare-URL links), and character
    references other than ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;`` are escaped (``&#92;`` shows as
    written and cannot spell a TeX command). Applying it twice gives the same text.
    Everywhere: the TeX commands of `BLOCKED_TEX` are written with ⧵ instead of a backslash.
    Code fences keep their text; their info string is kept only if it is a plain language name
    (not ``mermaid``, which nbconvert would insert unescaped). Math and code spans keep their
    text (nbconvert escapes both).

    The result is then rendered with nbconvert's markdown renderer (what formgrader uses): if
    that gives any tag, attribute or URL beyond plain formatting, or text in which MathJax would
    find a blocked command, or nbconvert is not installed, the cell's text is returned as a
    fenced code block instead (the source, verbatim, under a one-line note). So is a cell with
    a heading whose anchor id (nbconvert derives it from the heading's text) is one of
    ``reserved_ids``: formgrader finds its score and comment boxes by id (the grade_id, and
    grade_id + "-comment"), and a learner's heading named after one would take its place.
    """
    source = str(source)
    safe = _transform_markdown(source)
    problems = _nbconvert_problems(safe, reserved_ids)
    if problems is None or problems:
        return as_code_block(neutralise_tex(source), "Markdown shown as text by the grader.")
    return safe


# --- Notebooks ----------------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_SGR = re.compile(r"\x1b\[[0-9;]{0,32}m")
_CONTROL = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"         # OSC (e.g. OSC 8 hyperlinks), to its end
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"              # DCS, PM, APC, SOS strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]"                    # other CSI sequences (not colours, see below)
    r"|\x1b[ -/]*[0-~]?"                           # other escapes
    r"|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")   # other C0 controls (tab, newline, CR kept)


def _clean_text(value) -> str:
    """Output text with ANSI colours kept and every other control sequence removed."""
    text = _text(value)
    kept = []
    pos = 0
    for m in _SGR.finditer(text):
        kept.append(_CONTROL.sub("", text[pos:m.start()]))
        kept.append(m.group(0))
        pos = m.end()
    kept.append(_CONTROL.sub("", text[pos:]))
    return "".join(kept)


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v if isinstance(v, str) else str(v) for v in value)
    return "" if value is None else str(value)


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _safe_name(value) -> str:
    """``value`` with every character outside [A-Za-z0-9_-] replaced by "_" (at most 64)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", _text(value))[:64]
    return name or "_"


def _nbgrader_metadata(meta):
    """The nbgrader cell metadata (format v3 keys only, values type-checked)."""
    if not isinstance(meta, dict):
        return None
    out = {}
    for key in ("grade", "solution", "locked", "task"):
        if isinstance(meta.get(key), bool):
            out[key] = meta[key]
    if "grade_id" in meta:
        gid = meta["grade_id"]
        out["grade_id"] = gid if isinstance(gid, str) and _SAFE_NAME.match(gid) else _safe_name(gid)
    points = meta.get("points")
    if isinstance(points, (int, float)) and not isinstance(points, bool) and math.isfinite(points):
        out["points"] = points
    elif isinstance(points, str):
        try:
            if math.isfinite(float(points)):
                out["points"] = float(points)
        except ValueError:
            pass
    if isinstance(meta.get("schema_version"), int) and not isinstance(meta["schema_version"], bool):
        out["schema_version"] = meta["schema_version"]
    if isinstance(meta.get("checksum"), str) and re.fullmatch(r"[0-9a-fA-F]{1,128}", meta["checksum"]):
        out["checksum"] = meta["checksum"]
    if meta.get("cell_type") in ("code", "markdown", "raw"):
        out["cell_type"] = meta["cell_type"]
    return out


def _cell_metadata(meta):
    """Cell metadata from an allow-list: nbgrader's, plain tags, deletable/editable."""
    meta = meta if isinstance(meta, dict) else {}
    out = {}
    nbg = _nbgrader_metadata(meta.get("nbgrader"))
    if nbg is not None:
        out["nbgrader"] = nbg
    tags = meta.get("tags")
    if isinstance(tags, list):
        tags = [t for t in tags if isinstance(t, str) and _SAFE_NAME.match(t)]
        if tags:
            out["tags"] = tags
    for key in ("deletable", "editable"):
        if isinstance(meta.get(key), bool):
            out[key] = meta[key]
    return out


def _notebook_metadata(meta):
    """Notebook metadata from an allow-list: kernelspec and language_info as short strings."""
    meta = meta if isinstance(meta, dict) else {}
    out = {}
    for key, fields in (("kernelspec", ("name", "display_name", "language")),
                        ("language_info", ("name", "version", "file_extension", "mimetype",
                                           "nbconvert_exporter", "pygments_lexer"))):
        value = meta.get(key)
        if isinstance(value, dict):
            kept = {f: value[f] for f in fields
                    if isinstance(value.get(f), str) and re.fullmatch(r"[\w .+/#-]{0,64}", value[f])}
            if kept:
                out[key] = kept
    if "kernelspec" in out and not {"name", "display_name"} <= set(out["kernelspec"]):
        del out["kernelspec"]                      # nbformat requires both
    return out


def _is_test_cell(meta) -> bool:
    nbg = meta.get("nbgrader", {})
    return bool(nbg.get("grade")) and not nbg.get("solution")


def _outputs(outputs, test):
    """Outputs as text only: errors kept (the grader's verdicts and cell problems); for test
    cells also streams and execute_result text/plain (what nbgrader scores); nothing else."""
    kept = []
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "error":
            traceback = output.get("traceback")
            kept.append({"output_type": "error", "ename": _clean_text(output.get("ename")),
                         "evalue": _clean_text(output.get("evalue")),
                         "traceback": [_clean_text(line) for line in traceback]
                         if isinstance(traceback, list) else []})
        elif not test:
            continue
        elif kind == "stream":
            name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
            kept.append({"output_type": "stream", "name": name,
                         "text": _clean_text(output.get("text"))})
        elif kind == "execute_result":
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            plain = {"text/plain": _clean_text(data["text/plain"])} if "text/plain" in data else {}
            kept.append({"output_type": "execute_result",
                         "execution_count": _count(output.get("execution_count")),
                         "data": plain, "metadata": {}})
        elif kind == "display_data":
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            if "text/plain" in data:
                kept.append({"output_type": "display_data", "metadata": {},
                             "data": {"text/plain": _clean_text(data["text/plain"])}})
    return kept


def _checksum(cell):
    """nbgrader's checksum of ``cell`` (a dict), or None without nbgrader."""
    try:
        from nbformat import from_dict
        from nbgrader.utils import compute_checksum
        return compute_checksum(from_dict(copy.deepcopy(cell)))
    except Exception:
        return None


# the ids formgrader's page gives its own elements (besides those named after grade_ids)
FORMGRADER_IDS = ("notebook", "notebook-container", "statusmessage")


def sanitize_notebook(nb):
    """A copy of notebook ``nb`` (nbformat v4, a ``NotebookNode`` or a plain dict) in which no
    learner markup is live when nbconvert/formgrader renders it, even with ``sanitize_html=False``.

    Returns the same kind of object as given (``NotebookNode`` in, ``NotebookNode`` out); ``nb``
    itself is not changed. Built from an allow-list, so anything not named here is dropped:

    * notebook metadata: ``kernelspec`` and ``language_info`` (short plain strings) only; no
      ``widgets`` (nbconvert would load a widget manager from a CDN), no ``title``;
    * markdown cells: `sanitize_markdown` of the source, with the ids formgrader uses (every
      grade_id, grade_id + "-comment" and "_extra_credit", `FORMGRADER_IDS`) reserved;
      attachments removed;
    * raw cells: turned into markdown cells holding their text as a fenced code block (shown as
      text, whatever the ``raw_mimetype``); a raw cell with nbgrader grade/solution/task flags
      stays raw (nbgrader validates those by cell type), with its text HTML-escaped and no
      ``raw_mimetype``; attachments removed; any other cell type becomes such a markdown cell;
    * code cells: source kept (nbconvert highlights and escapes it); ``execution_count`` an int
      or None; outputs as text only: ``error`` outputs are kept in every cell (the grader writes
      its verdicts and the problems of learner cells as errors), test cells (nbgrader grade and
      not solution) also keep ``stream`` outputs and ``execute_result`` reduced to text/plain
      (so nbgrader scores them as before); every other output of any cell is removed (HTML,
      JavaScript, SVG, images, widgets, markdown, LaTeX). Control sequences other than ANSI
      colours are removed from output text;
    * cell metadata: ``nbgrader`` (its v3 keys, type-checked; a ``grade_id`` outside
      [A-Za-z0-9_-] has those characters replaced by "_"), ``tags`` made of [A-Za-z0-9_-] only
      (nbconvert turns tags into class names), ``deletable``/``editable``; nothing else (no
      ``jupyter.outputs_hidden`` hiding a verdict, no ``raw_mimetype``);
    * cell ids: kept if made of [A-Za-z0-9_-] (at most 64), otherwise replaced by a fresh one;
    * nbgrader checksums: a cell whose stored checksum matched its content before keeps a
      matching checksum after (an unanswered cell stays "unchanged" for nbgrader).
    """
    source = nb if isinstance(nb, dict) else {}
    cells = []
    given = [c for c in (source.get("cells") if isinstance(source.get("cells"), list) else [])
             if isinstance(c, dict)]
    reserved = set(FORMGRADER_IDS)
    for cell in given:
        gid = _cell_metadata(cell.get("metadata")).get("nbgrader", {}).get("grade_id")
        if gid:
            reserved.update((gid, f"{gid}-comment", f"{gid}_extra_credit"))
    for cell in given:
        kind = cell.get("cell_type")
        text = _text(cell.get("source"))
        meta = _cell_metadata(cell.get("metadata"))
        new = {"cell_type": kind, "metadata": meta, "source": text}
        if kind == "code":
            new["execution_count"] = _count(cell.get("execution_count"))
            new["outputs"] = _outputs(cell.get("outputs"), _is_test_cell(meta))
        elif kind == "markdown":
            new["source"] = sanitize_markdown(text, reserved)
        elif kind == "raw" and any(meta.get("nbgrader", {}).get(k) for k in ("grade", "solution", "task")):
            new["source"] = escape(neutralise_tex(text))
        else:
            new["cell_type"] = "markdown"
            new["source"] = as_code_block(neutralise_tex(text), f"{'Raw' if kind == 'raw' else 'Unknown'} "
                                          "cell shown as text by the grader.")
        if "id" in cell:
            cid = cell.get("id")
            new["id"] = cid if isinstance(cid, str) and _SAFE_NAME.match(cid) else uuid.uuid4().hex[:8]
        checksum = meta.get("nbgrader", {}).get("checksum")
        if checksum and (new["source"] != text or new["cell_type"] != kind):
            before = _checksum({"cell_type": kind, "source": text, "metadata": meta})
            if before == checksum:
                after = _checksum(new)
                if after:
                    meta["nbgrader"]["checksum"] = after
        cells.append(new)
    minor = source.get("nbformat_minor")
    result = {"nbformat": 4, "nbformat_minor": minor if _count(minor) is not None else 5,
              "metadata": _notebook_metadata(source.get("metadata")), "cells": cells}
    try:
        from nbformat import NotebookNode, from_dict
    except ImportError:
        return result
    return from_dict(result) if isinstance(nb, NotebookNode) else result
