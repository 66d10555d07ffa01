"""The feedback a learner receives for one graded notebook: one self-contained HTML page.

`write_feedback` shows a header (student, assignment, score, status, the hidden cases' seed,
devices, how to replay a failure), then the submitted notebook in order: markdown rendered with
mistune (raw HTML escaped; math rendered offline as allow-listed MathML by latex2mathml), learner
code as escaped code with any problem of that cell beneath it, and in place of every graded test
cell a named box with the points, PASSED/FAILED and the grader's message; an instructor's
comment (formgrader) under the cell it is about. The source of test cells is
never shown (hidden tests must not leak), nor are cell outputs or Python tracebacks. The page
loads nothing from elsewhere: no scripts, no fonts, no links to other sites. Learner text goes
through `autograder.sanitize` (markdown, math) or is escaped: none of its markup is live.
"""
from __future__ import annotations

from pathlib import Path

from .report import clean_message, esc, msg_html, page, table
from ..result import FLAGS
from ..sanitize import markdown_html

__all__ = ["write_feedback", "render_markdown"]

CSS = """
.test { border: 1px solid #d0d7de; border-left: 6px solid; border-radius: 6px;
        padding: .5rem .9rem; margin: 1rem 0; }
.test.passed { border-left-color: #1a7f37; } .test.failed { border-left-color: #cf222e; }
.test h3 { margin: .2rem 0 .4rem; font-size: 1rem; } .test .id { font-weight: normal; }
.problem { border-left: 4px solid #bf8700; background: #fff8c5; padding: .4rem .75rem;
           margin: -.5rem 0 1rem; border-radius: 0 6px 6px 0; }
.comment { border-left: 4px solid #0969da; background: #ddf4ff; padding: .4rem .75rem;
           margin: -.5rem 0 1rem; border-radius: 0 6px 6px 0; white-space: pre-wrap; }
.md { margin: 1rem 0; } math[display="block"] { margin: .5rem 0; }
"""


def render_markdown(source: str) -> str:
    """Markdown to HTML, offline and inert (`autograder.sanitize.markdown_html`): raw
    HTML is escaped, `$...$` / `$$...$$` become allow-listed MathML, links carry no href."""
    return markdown_html(source)


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _test_box(test, note="") -> str:
    state = "passed" if test.passed else "failed"
    flags = "".join(f"<p><b>{esc(f)}</b>: {esc(FLAGS.get(f, f))}</p>" for f in test.flags)
    message = msg_html(test.message) if test.message else ""
    note = f'<p class="muted">{esc(note)}</p>' if note else ""
    return (f'<section class="test {state}" id="{esc(test.grade_id)}"><h3>{esc(test.title)} '
            f'<span class="muted id">({esc(test.grade_id)})</span></h3>'
            f'<p><span class="{"ok" if test.passed else "bad"}">{state.upper()}</span> · '
            f"{test.points:g} / {test.max_points:g} points</p>"
            f"{note}{flags}{message}</section>")


def _comment_box(comment) -> str:
    return (f'<div class="comment"><b>Your instructor:</b> {esc(comment.text)}</div>')


def _problem_box(problem) -> str:
    if problem.kind == "note":                 # a comparison cell: it costs nothing
        return f'<div class="comment"><b>Note:</b> {esc(problem.message)}</div>'
    what = "raised an error" if problem.kind == "error" else FLAGS.get(problem.kind, problem.kind)
    return (f'<div class="problem"><b>This cell {esc(what)}.</b>'
            f"{msg_html(problem.message) if problem.message else ''}</div>")


def _header(result) -> str:
    rows = [["Student", result.student], ["Assignment", result.assignment],
            ["Score", (f"{result.score:g} / {result.max_score:g}"
                       + (f" (after a late penalty of {result.late_penalty:g})"
                          if result.late_penalty else ""))
             if result.status in ("graded", "not submitted") else f"— ({result.status})"],
            ["Status", result.status + (f" — {clean_message(result.reason)}"
                                        if result.reason and result.status == "graded" else "")],
            ["Hidden-test seed", "—" if result.seed is None else str(result.seed)],
            ["Devices", ", ".join(result.devices) or "—"]]
    if result.submitted_at:
        rows.insert(4, ["Submitted", result.submitted_at + (
            f" — {result.seconds_late / 3600:.1f} hours late" if result.seconds_late else "")])
    out = f"<h1>Feedback: {esc(result.assignment)}</h1>" + table(None, rows)
    out += ("<p class='muted'>To replay a failing case, run the “Replay it” line of its message in a "
            "cell of your notebook: it rebuilds the exact inputs (hidden cases included, from the "
            "seed above) and calls your function on them.</p>")
    if result.tampered_cells:
        out += ("<p class='note'><b>Test cells edited or deleted:</b> "
                f"{esc(', '.join(result.tampered_cells))}. The grader ignored these changes and "
                "used the original tests.</p>")
    if result.status != "graded":
        out += (f"<p class='note'><b>{esc(_STATUS_SENTENCE.get(result.status, result.status))}."
                f"</b> {esc(clean_message(result.reason))}</p>")
    return out


_STATUS_SENTENCE = {"could not be graded": "This notebook could not be graded",
                    "not submitted": "No notebook was submitted",
                    "not graded yet": "This notebook has not been graded yet"}


def write_feedback(result, notebook, path) -> Path:
    """Write the learner's feedback page for `result` (a `NotebookResult`) to `path`.

    `notebook` is the submitted notebook as an nbformat-v4 dict (or None if there is none); its
    test cells may be edited or missing. Every test of `result.tests` gets one box, placed where
    its cell is; a deleted test goes after the last cell of its exercise (another of its tests or
    the solution cell named after the function), else at the end. A cell is treated as a test,
    and its source never shown, if its nbgrader metadata says grade=true and solution=false or
    its grade_id is a test's or a tampered cell's. `cell_problems` are shown under their cell
    (matched by grade_id or "cell N", N counting code cells from 1); unmatched ones at the end.
    Returns the path written (UTF-8, parent folders created).
    """
    # Only a graded notebook has verdicts to place; for any other the header says why.
    tests = {t.grade_id: t for t in result.tests} if result.status == "graded" else {}
    cells = (notebook or {}).get("cells", [])
    meta = [c.get("metadata", {}).get("nbgrader", {}) for c in cells]
    present = [m.get("grade_id") for m in meta]
    anchored, problems = {}, list(result.cell_problems)
    for t in tests.values():
        if t.grade_id in present:
            continue
        same = [i for i, g in enumerate(present) if g in tests and tests[g].exercise == t.exercise]
        fn = t.exercise.split(".")[-1]
        at = same[-1] if same else (present.index(fn) if fn in present else None)
        anchored.setdefault(at, []).append(t)

    by_hand = {o.grade_id: f"Scored {o.points:g} by your instructor (the grader gave "
                           f"{o.auto_points:g}): {o.why}" for o in result.overrides}
    comments = {}
    for comment in result.comments if result.status == "graded" else ():
        comments.setdefault(comment.cell, []).append(comment)
    body, code_index = [_header(result)], 0
    if notebook is None and result.status == "not submitted":
        body.append("<p>No notebook was submitted.</p>")
    for i, (cell, m) in enumerate(zip(cells, meta)):
        gid = m.get("grade_id")
        if cell.get("cell_type") == "markdown":
            body.append(f'<div class="md">{render_markdown(_source(cell))}</div>')
        elif cell.get("cell_type") == "code":
            code_index += 1
            if (m.get("grade") and not m.get("solution")) or gid in tests or gid in result.tampered_cells:
                note = "You edited this test cell; the grader ran the original test." \
                    if gid in result.tampered_cells else ""
                body.append(_test_box(tests[gid], note or by_hand.get(gid, "")) if gid in tests else
                            f'<section class="test"><h3>Test cell {esc(gid or code_index)}</h3>'
                            "<p class='muted'>Not graded.</p></section>")
            else:
                body.append(f"<pre><code>{esc(_source(cell))}</code></pre>")
                keys = {gid, f"cell {code_index}"}
                body += [_problem_box(p) for p in problems if p.cell in keys]
                problems = [p for p in problems if p.cell not in keys]
        body += [_comment_box(c) for c in comments.pop(gid, [])] if gid else []
        body += [_test_box(t, "This test cell was deleted from your notebook; the grader ran the "
                              "original test.") for t in anchored.pop(i, [])]
    rest = [t for ts in anchored.values() for t in ts]
    if rest:
        body.append("<h2>Tests whose cells are missing</h2>")
        body += [_test_box(t, "This test cell was deleted from your notebook; the grader ran the "
                              "original test.") for t in rest]
    left = [c for cs in comments.values() for c in cs]
    if left:
        body.append("<h2>Comments from your instructor</h2>" + "".join(
            f"<p><b>{esc(c.cell)}</b></p>{_comment_box(c)}" for c in left))
    if problems:
        body.append("<h2>Other problems</h2>" + "".join(
            f"<p><b>{esc(p.cell)}</b></p>{_problem_box(p)}" for p in problems))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(f"Feedback: {result.student} · {result.assignment}", "\n".join(body), CSS),
                    encoding="utf-8")
    return path
