"""Command line for instructors: ``python -m autograder {grade,release}``.

    python -m autograder release
        Regenerate exercises/ (the student notebooks) from solutions/ with nbgrader.
    python -m autograder validate NOTEBOOK...
        Run a notebook's visible tests as nbgrader validate does; exit 1 and list what failed
        (nbgrader's own validate command exits 0 even when tests fail).
    python -m autograder grade SUBMITTED_DIR [--out grades.csv] [--feedback DIR]
        Grade SUBMITTED_DIR/<student_id>/<assignment>/<assignment>.ipynb; write nbgrader's CSV
        export and HTML feedback; print a summary of what went wrong where. Exits 0 even when
        some notebooks could not be graded (they get 0 and are listed in the summary).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .nbgrader_config import CELL_TIMEOUT, DEFAULT_GRADEBOOK


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate exercises/ from solutions/")
    release.add_argument("assignments", nargs="*", help="only these assignments (default: all)")

    validate = commands.add_parser("validate", help="run a notebook's tests; exit 1 on failure")
    validate.add_argument("notebooks", nargs="+", type=Path)

    grade = commands.add_parser("grade", help="grade a folder of submitted notebooks")
    grade.add_argument("submitted", type=Path,
                       help="folder of <student_id>/<assignment>/<assignment>.ipynb")
    grade.add_argument("--out", type=Path, default=Path("grades.csv"),
                       help="CSV file for nbgrader's export (default: grades.csv)")
    grade.add_argument("--feedback", type=Path, default=None,
                       help="folder for HTML feedback (default: feedback/ next to --out)")
    grade.add_argument("--gradebook", type=Path, default=DEFAULT_GRADEBOOK,
                       help=f"SQLite gradebook, kept away from learners (default: {DEFAULT_GRADEBOOK})")
    grade.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                       help=f"seconds a notebook cell may run (default: {CELL_TIMEOUT})")
    grade.add_argument("--seed-salt", default="",
                       help="course secret mixed into every student's hidden-test seed")
    grade.add_argument("--workdir", type=Path, default=None,
                       help="keep nbgrader's course directory here (default: temporary)")

    args = parser.parse_args(argv)
    from . import grading
    if args.command == "release":
        for path in grading.release(names=args.assignments or None):
            print(f"wrote {path}")
        return 0
    if args.command == "validate":
        failed = False
        for notebook in args.notebooks:
            problems = grading.validate(notebook)
            failed |= bool(problems)
            print(f"{notebook}: " + ("all tests pass" if not problems else
                                     f"{len(problems)} problem(s)"))
            for problem in problems:
                print(f"  - {problem}")
        return 1 if failed else 0
    if not args.submitted.is_dir():
        parser.error(f"{args.submitted} is not a folder")
    report = grading.grade(args.submitted, out=args.out, feedback_dir=args.feedback,
                           gradebook=args.gradebook, timeout=args.timeout,
                           seed_salt=args.seed_salt, workdir=args.workdir)
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
