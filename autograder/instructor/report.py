"""The instructor's grading report: one self-contained HTML file for a whole grading run.

`write_report` turns a list of `NotebookResult` into a single page with no external resources
(no scripts, fonts, stylesheets or links to other sites; figures are PNGs embedded as base64
data URIs drawn with matplotlib's Agg canvas, imported only when a report is written). It needs
neither torch nor nbgrader.

The small HTML helpers here (`esc`, `clean_message`, `page`, `table`, `Raw`) are shared with
`autograder.instructor.feedback`. Learner text reaches the report only as data (student ids,
cell names, messages, reasons), and every such string is escaped (`esc`, i.e.
`autograder.sanitize.escape`): no markup from a learner is live in the page.
"""
from __future__ import annotations

import base64
import io
import math
import os
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from ..result import FLAGS, STATUSES
from ..sanitize import escape

__all__ = ["write_report", "normalise_message", "clean_message"]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
h1, h2, h3 { line-height: 1.25; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; width: 100%; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; white-space: nowrap; }
code, pre, .msg { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
                  font-size: .85rem; }
pre { background: #f6f8fa; padding: .75rem; border-radius: 6px; overflow-x: auto; }
.msg { white-space: pre-wrap; word-break: break-word; margin: 0; }
img { max-width: 100%; } .muted { color: #656d76; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; }
.note { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: .5rem .75rem; }
"""


class Raw(str):
    """A string that `table` inserts as HTML, unescaped (the caller escaped what it holds)."""


def esc(value) -> str:
    """HTML-escape str(value), quotes included (`autograder.sanitize.escape`)."""
    return escape(value)


_TB_LINE = re.compile(r"^(\s|Traceback \(most recent call last\)|During handling|The above exception)")


def clean_message(message: str) -> str:
    """`message` without Python tracebacks: each traceback keeps only its final exception line."""
    out, in_tb = [], False
    for line in str(message).splitlines():
        if line.startswith("Traceback (most recent call last)"):
            in_tb = True
        elif in_tb and not _TB_LINE.match(line):
            in_tb = False
            out.append(line)
        elif not in_tb:
            out.append(line)
    return "\n".join(out).strip()


def msg_html(message: str) -> str:
    """A message as a wrapped, escaped block (whole, never truncated)."""
    return f'<div class="msg">{esc(clean_message(message))}</div>'


def table(headers, rows) -> str:
    """An HTML table (no header row if `headers` is None); cells are escaped unless they are
    `Raw`; numbers are right-aligned."""
    def cell(v):
        if isinstance(v, Raw):
            return f"<td>{v}</td>"
        if isinstance(v, (int, float)):
            return f'<td class="num">{v:g}</td>' if isinstance(v, float) else f'<td class="num">{v}</td>'
        return f"<td>{esc(v)}</td>"
    head = "".join(f"<th>{esc(h)}</th>" for h in headers or ())
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table>{f'<thead><tr>{head}</tr></thead>' if head else ''}<tbody>{body}</tbody></table>"


def page(title: str, body: str, css: str = "") -> str:
    """A complete HTML document with the inline stylesheet and no external resources."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}{css}</style></head>"
            f"<body>{body}</body></html>\n")


_NORMALISE = [
    (re.compile(r"\bcase \d+ of \d+"), "case <i> of <n>"),
    (re.compile(r"\bseed[ =:]*-?\d+"), "seed <seed>"),
    (re.compile(r"\b(?:visible|hidden)\b"), "visible or hidden"),   # one mistake, both tests
    (re.compile(r"\b(?:cpu|cuda(?::\d+)?|mps|xpu(?::\d+)?)\b"), "<device>"),
    (re.compile(r"\[\s*-?\d+(?:\s*,\s*-?\d+)*\s*,?\s*\]|\(\s*(?:-?\d+\s*,\s*)+(?:-?\d+\s*)?\)"),
     "<shape>"),
    (re.compile(r"(?<![\w.])-?(?:\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|nan|inf)(?!\w)"), "<n>"),
]


def normalise_message(message: str) -> str:
    """The first line of a failure message with case indices, seeds, devices, shapes/indices
    and numbers replaced by placeholders, so the same mistake made by many students (at
    different seeds, cases or devices) gives the same text."""
    lines = clean_message(message).strip().splitlines()
    text = lines[0].strip() if lines else ""
    for pattern, placeholder in _NORMALISE:
        text = pattern.sub(placeholder, text)
    return text


def _png(fig, alt) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _histogram(scores, max_score, title):
    from matplotlib.figure import Figure  # lazily, Agg canvas; no pyplot, no global backend
    fig = Figure(figsize=(6, 2.6))
    ax = fig.add_subplot()
    top = max(max_score, max(scores, default=0.0), 1.0)
    step = 0.5 if top <= 10 else top / 20  # half points, or 20 bins; each bar centred on its value
    bins = [step * (i - 0.5) for i in range(math.ceil(top / step) + 2)]
    ax.hist(scores, bins=bins, color="#4c78a8", edgecolor="white")
    ax.set(title=title, xlabel=f"score (out of {max_score:g})", ylabel="notebooks",
           xlim=(bins[0], bins[-1]))
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig, title)


def _pass_bars(labels, rates, title):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 0.6 + 0.28 * len(labels)))
    ax = fig.add_subplot()
    y = range(len(labels))
    bars = ax.barh(y, [100 * r for r in rates], color=["#59a14f" if r >= .5 else "#e15759" for r in rates])
    ax.bar_label(bars, [f"{100 * r:.0f}%" for r in rates], padding=3, fontsize=8)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.set_xticks(range(0, 101, 20))
    ax.invert_yaxis()
    ax.set(title=title, xlabel="passed (% of graded notebooks)", xlim=(0, 112))
    return _png(fig, title)


def _totals(results):
    by_status = Counter(r.status for r in results)
    order = [s for s in STATUSES if s in by_status] + [s for s in by_status if s not in STATUSES]
    html_ = "<h2>Totals</h2>" + table(["status", "notebooks"],
                                     [[s, by_status[s]] for s in order] + [["all", len(results)]])
    rows = []
    for a, rs in _by_assignment(results).items():
        graded = [r for r in rs if r.status == "graded"]
        scores = [r.score for r in graded]
        top = max((r.max_score for r in graded), default=0.0)
        rows.append([a, len(rs), len(graded),
                     round(statistics.mean(scores), 2) if scores else "-",
                     round(statistics.median(scores), 2) if scores else "-",
                     max(scores) if scores else "-", top])
    headers = ["assignment", "notebooks", "graded", "mean", "median", "highest", "max score"]
    return html_ + table(headers, rows)


def _by_assignment(results):
    groups = defaultdict(list)
    for r in sorted(results, key=lambda r: r.assignment):
        groups[r.assignment].append(r)
    return groups


def _assignment_section(assignment, rs):
    graded = [r for r in rs if r.status == "graded"]
    out = [f"<h3>{esc(assignment)}</h3>"]
    if not graded:
        return out[0] + '<p class="muted">No graded notebooks.</p>'
    top = max(r.max_score for r in graded)
    out.append(_histogram([r.score for r in graded], top, f"{assignment}: scores"))
    stats = {}  # grade_id -> [title, passed, graded, points, max points], in first-seen order
    for r in graded:
        for t in r.tests:
            s = stats.setdefault(t.grade_id, [t.title, 0, 0, 0.0, t.max_points])
            s[1] += t.passed
            s[2] += 1
            s[3] += t.points
    ids = list(stats)
    rates = [stats[g][1] / stats[g][2] for g in ids]
    out.append(_pass_bars(ids, rates, f"{assignment}: pass rate per test cell"))
    out.append(table(["test cell", "test", "passed", "pass rate", "mean points", "max points"],
                     [[g, s[0], f"{s[1]} / {s[2]}", f"{100 * s[1] / s[2]:.0f}%",
                       round(s[3] / s[2], 2), s[4]] for g, s in stats.items()]))
    return "".join(out)


def _failures(results, limit=50):
    groups = defaultdict(dict)  # (assignment, normalised message) -> {student: None}, in order
    for r in results:
        for t in r.tests:
            if not t.passed and t.message:
                groups[(r.assignment, normalise_message(t.message))][r.student] = None
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    rows = [[len(found), a, Raw(msg_html(m)), ", ".join(list(found)[:5]) + (" …" if len(found) > 5 else "")]
            for (a, m), found in ranked]
    head = (f"<h2>Most common failures</h2><p class='muted'>Failure messages grouped by their first "
            f"line, with seeds, case numbers, devices, shapes and numbers replaced by placeholders"
            f"{f'; the {limit} largest groups of {len(groups)}' if len(groups) > limit else ''}.</p>")
    return head + (table(["students", "assignment", "message", "examples"], rows) if rows
                   else "<p>No failures.</p>")


def _flagged(results):
    rows = []
    for r in results:
        for flag in r.flags:
            if flag == "tampered":
                details = "test cells edited or deleted: " + ", ".join(r.tampered_cells)
            else:
                found = [f"{t.title} — {t.message}" for t in r.tests if flag in t.flags]
                found += [f"{'' if p.cell.startswith('cell ') else 'cell '}{p.cell} — {p.message}"
                          for p in r.cell_problems if p.kind == flag]
                details = "\n".join(found)
            what = Raw(f"<b>{esc(flag)}</b><br>{esc(FLAGS.get(flag, flag))}")
            rows.append([r.student, r.assignment, what, Raw(msg_html(details))])
    return "<h2>Flagged notebooks</h2>" + (
        table(["student", "assignment", "flag", "details"], rows) if rows
        else "<p>No notebook hit a limit, tampered with tests, tripped the sandbox or crashed.</p>")


def _students(results, feedback):
    """A row per student: each assignment's score (a link to the feedback page), the total and
    its percentage; late work and a person's overrides and comments named."""
    by_student = defaultdict(dict)
    for r in results:
        by_student[r.student][r.assignment] = r
    assignments = sorted({r.assignment for r in results})
    rows = []
    for student, rs in sorted(by_student.items()):
        row, total, top = [student], 0.0, 0.0
        for a in assignments:
            r = rs.get(a)
            if r is None:
                row.append("")
                continue
            total, top = total + r.score, top + r.max_score
            shown = (f"{r.score:g} / {r.max_score:g}" if r.status == "graded" else
                     r.status if r.status != "not submitted" else f"0 / {r.max_score:g} (none)")
            notes = ([f"{r.seconds_late / 3600:.1f} h late"
                      + (f", −{r.late_penalty:g}" if r.late_penalty else "")]
                     if r.seconds_late else [])
            notes += [f"{o.grade_id} set to {o.points:g} by hand: {o.why}" for o in r.overrides]
            notes += [f"comment on {c.cell}: {c.text}" for c in r.comments]
            link = feedback(r) if r.status in ("graded", "could not be graded") else None
            cell = (f'<a href="{esc(link)}">{esc(shown)}</a>' if link else esc(shown))
            cell += "".join(f'<br><span class="muted">{esc(n)}</span>' for n in notes)
            row.append(Raw(cell))
        row += [f"{total:g} / {top:g}", f"{100 * total / top:.1f}%" if top else "-"]
        rows.append(row)
    return (f"<h2>Students ({len(rows)})</h2><p class='muted'>Each score links to the "
            "feedback page the student receives.</p>"
            + table(["student", *assignments, "total", "%"], rows))


def _not_graded(results):
    waiting = [[r.student, r.assignment] for r in results if r.status == "not graded yet"]
    missing = [[r.student, r.assignment] for r in results if r.status == "not submitted"]
    failed = [[r.student, r.assignment, Raw(msg_html(r.reason or "(no reason given)"))]
              for r in results if r.status == "could not be graded"]
    return ((f"<h2>Not graded yet ({len(waiting)})</h2><p>Submitted, but the run stopped "
             "before grading them: run the same command again.</p>"
             + table(["student", "assignment"], waiting) if waiting else "")
            + f"<h2>Not submitted ({len(missing)})</h2>"
            + (table(["student", "assignment"], missing) if missing else "<p>None.</p>")
            + f"<h2>Could not be graded ({len(failed)})</h2>"
            + (table(["student", "assignment", "why"], failed) if failed else "<p>None.</p>"))


def write_report(results, path, *, title="Grading report", extra=None,
                 feedback_dir=None) -> Path:
    """Write the grading report for `results` (an iterable of `NotebookResult`) to `path`.

    The page holds: an optional "run" table of `extra` (label -> value, e.g. workers, wall
    time); totals by status and per assignment (count, mean/median/highest score, max score); per
    assignment a score histogram and the pass rate of every test cell (bar chart and table); the
    most common failure messages grouped by `normalise_message` (count, message, up to 5
    students); the notebooks with flags (limits, tampering, sandbox, forbidden ops, crashes) with
    the flag in words and its messages; and the notebooks not submitted or not gradable (why).
    Every message is escaped, shown whole and wrapped. The file is self-contained (no external
    URLs) and UTF-8. Creates parent folders; returns the path written.
    """
    results = list(results)
    body = [f"<h1>{esc(title)}</h1>"]
    if extra:
        rows = [[str(k), str(v)] for k, v in extra.items()]
        body.append("<h2>Run</h2>" + table(None, rows))
    body.append(_totals(results))
    body.append("<h2>Scores and tests per assignment</h2>")
    body += [_assignment_section(a, rs) for a, rs in _by_assignment(results).items()]
    path = Path(path)
    body.append(_students(results, lambda r: None if feedback_dir is None else quote(
        os.path.relpath(Path(feedback_dir) / r.student / r.assignment / f"{r.assignment}.html",
                        path.parent))))
    body += [_failures(results), _flagged(results), _not_graded(results)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(title, "\n".join(body)), encoding="utf-8")
    return path
