"""Command line: ``python -m autograder {grade,validate,release}``.

    python -m autograder grade SUBMITTED_DIR [--out grades.csv] [--workers N] [--scheduler ADDR]
        Grade SUBMITTED_DIR/<student_id>/<assignment>/<assignment>.ipynb. Each notebook runs in
        a sandboxed, single-use learner process; the cases, the references and the verdict are
        computed outside it. Writes the grades CSV (one row per student and assignment, with a
        status), HTML feedback per notebook, an HTML report for the class, and the nbgrader
        gradebook. Only new or changed notebooks are graded unless --force.
    python -m autograder validate NOTEBOOK...
        Check a notebook as the grader does, on its visible tests (no Jupyter kernel); exit 1
        and list every failing test, every edited or deleted test cell and every cell that
        raised.
    python -m autograder release
        Regenerate exercises/ (the student notebooks) from solutions/ with nbgrader.
    python -m autograder lab [-h] [--allow-root] [JUPYTERLAB OPTIONS] [FOLDER]
        JupyterLab on exercises/ for learners: nbgrader's instructor tools switched off. Other
        options go to JupyterLab and win over the defaults (--ServerApp.root_dir=DIR serves
        DIR); as root it needs --allow-root; `lab --help` says more.

torch is imported only where it is needed (the grading workers, validate).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .nbgrader_config import CELL_TIMEOUT, DEFAULT_GRADEBOOK, NOTEBOOK_BUDGET


def _grade_parser(commands):
    grade = commands.add_parser("grade", help="grade a folder of submitted notebooks",
                                description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    grade.add_argument("submitted", type=Path,
                       help="folder of <student_id>/<assignment>/<assignment>.ipynb")
    grade.add_argument("--out", type=Path, default=Path("grades.csv"),
                       help="grades CSV (default: grades.csv)")
    grade.add_argument("--feedback", type=Path, default=None,
                       help="folder for HTML feedback (default: feedback/ next to --out)")
    grade.add_argument("--report", type=Path, default=None,
                       help="HTML report for the class (default: grading-report.html next to "
                            "--out)")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="grading processes on this machine (default: the number of cores)")
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on the Dask cluster whose scheduler is at ADDRESS "
                            "(e.g. tcp://10.0.0.5:8786); each Dask worker sandboxes locally")
    grade.add_argument("--force", action="store_true",
                       help="regrade every notebook, also those unchanged since the last run")
    grade.add_argument("--course-dir", type=Path, default=None,
                       help="grade into this nbgrader course folder (source/, gradebook.db …) so "
                            "that formgrader shows the results")
    grade.add_argument("--gradebook", type=Path, default=None,
                       help=f"nbgrader gradebook (default: {DEFAULT_GRADEBOOK}, or "
                            "COURSE_DIR/gradebook.db with --course-dir)")
    grade.add_argument("--timeout", type=float, default=CELL_TIMEOUT,
                       help=f"seconds one learner cell may run (default: {CELL_TIMEOUT})")
    grade.add_argument("--call-time-limit", type=float, default=None,
                       help="seconds one call of a learner function may run (default: per "
                            "exercise, 10 s)")
    grade.add_argument("--notebook-budget", type=float, default=NOTEBOOK_BUDGET,
                       help="seconds one notebook may take in all (every cell and call of all "
                            "its learner processes); what is left then scores 0 with the flag "
                            f"timeout (default: {NOTEBOOK_BUDGET:g})")
    grade.add_argument("--memory-limit", type=float, default=4.0,
                       help="GiB of memory for one learner process (default: 4)")
    grade.add_argument("--seed-salt", default=None,
                       help="override the course secret that hidden-test seeds are derived from "
                            "(default: a random secret kept next to the gradebook)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run learner code without bubblewrap: only for one trusted "
                            "notebook on a machine without it (says loudly what it gives up)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--verbose", action="store_true",
                       help="end with every notebook's score and each failing test's first "
                            "line (default: only the notebooks that need a look; every "
                            "failure is in the report)")
    term = grade.add_argument_group(
        "a term of grading", "The CSV and the report always cover the whole class: every student "
        "and assignment of the gradebook and of earlier runs, the roster's students too.")
    term.add_argument("--student", action="append", default=None, metavar="ID",
                      help="grade only this student's submissions (repeat for more)")
    term.add_argument("--assignment", action="append", default=None, metavar="NAME",
                      help="grade only this assignment (repeat for more)")
    term.add_argument("--roster", type=Path, default=None, metavar="CSV",
                      help="add these students to the gradebook (nbgrader's `db student "
                           "import` format: id, first_name, last_name, email); a student "
                           "without a submission is listed 'not submitted'")
    term.add_argument("--override", nargs=4, action="append", default=[],
                      metavar=("STUDENT", "ASSIGNMENT", "TEST", "POINTS"),
                      help="set a person's score for one test (its grade_id, e.g. "
                           "test_corr2d_hidden); it is kept by every regrade and shown in the "
                           "CSV, report, feedback and gradebook (needs --why)")
    term.add_argument("--why", action="append", default=[], metavar="TEXT",
                      help="the reason for each --override, in the same order")
    return grade


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="regenerate exercises/ from solutions/")
    release.add_argument("assignments", nargs="*", help="only these assignments (default: all)")
    validate = commands.add_parser("validate", help="run a notebook's tests; exit 1 on failure")
    validate.add_argument("notebooks", nargs="+", type=Path)
    _grade_parser(commands)
    # Every argument after `lab` is the lab's (JupyterLab's options too): `lab.main` prints the
    # course's own help for -h/--help, which argparse must not answer.
    commands.add_parser("lab", help="JupyterLab for learners (no instructor tools); "
                                    "`lab --help` for its options",
                        add_help=False)
    args, extra = parser.parse_known_args(argv)
    if args.command == "lab":
        from . import lab
        return lab.main(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    if args.command == "release":
        from .release import release
        for path in release(names=args.assignments or None):
            print(f"wrote {path}")
        return 0
    if args.command == "validate":
        # One thread, as the grader's workers use: on a small machine PyTorch's default thread
        # pool makes these many small calls slower, not faster (set before torch is imported).
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from .errors import wrap_message
        from .validate import validate
        failed = False
        for notebook in args.notebooks:
            problems, notes = validate(notebook)
            failed |= bool(problems)
            print(f"{notebook}: " + ("all tests pass" if not problems else
                                     f"{len(problems)} problem(s)"))
            for problem in problems:
                print(wrap_message("  - " + problem.replace("\n", "\n    ")))
            for note in notes:
                print(wrap_message("  note: " + note.replace("\n", "\n    ")))
        return 1 if failed else 0
    return _grade(parser, args)


def _grade(parser, args):
    from .instructor.course import Course
    from .instructor.record import RecordError
    from .sandbox import NO_SANDBOX_WARNING, SandboxUnavailable, bwrap_command

    if not args.submitted.is_dir():
        parser.error(f"{args.submitted} is not a folder")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.no_sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
    else:
        try:
            bwrap_command()
        except SandboxUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    course = (Course.at(args.course_dir, args.gradebook) if args.course_dir
              else Course.default(args.gradebook or DEFAULT_GRADEBOOK))
    if args.course_dir and not course.assignments():
        parser.error(f"{args.course_dir} has no source/<assignment>/<assignment>.ipynb")
    if len(args.why) != len(args.override):
        parser.error("give each --override its reason with --why TEXT")
    overrides = []
    for (student, assignment, test, points), why in zip(args.override, args.why):
        try:
            overrides.append((student, assignment, test, float(points), why))
        except ValueError:
            parser.error(f"--override {student} {assignment} {test}: POINTS must be a number, "
                         f"not {points!r}")
    if args.roster and not args.roster.is_file():
        parser.error(f"--roster {args.roster}: no such file")
    out = args.out.resolve()
    try:
        run = _run_grade(args, course, out, overrides)
    except RecordError as error:           # a wrong --override or --roster: nothing was graded
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:              # before the run had read the class: nothing changed
        print("Interrupted before grading started; nothing was recorded.", file=sys.stderr)
        return 130
    print(run.summary(verbose=args.verbose))
    return 130 if run.interrupted else 0


def _run_grade(args, course, out, overrides):
    from .instructor.grade import grade
    return grade(args.submitted.resolve(), out=out, course=course,
                 feedback_dir=(args.feedback or out.parent / "feedback").resolve(),
                 report=(args.report or out.parent / "grading-report.html").resolve(),
                 workers=args.workers, scheduler=args.scheduler, force=args.force,
                 sandboxed=not args.no_sandbox, cell_timeout=args.timeout,
                 call_time_limit=args.call_time_limit, budget=args.notebook_budget,
                 memory_limit=int(args.memory_limit * 2**30), secret=args.seed_salt,
                 progress=not args.no_progress, students=args.student,
                 assignments=args.assignment, roster=args.roster, overrides=overrides)


if __name__ == "__main__":
    sys.exit(main())
