"""A class of honest notebooks with the hostile ones of issue 15 among them, graded on 2 workers.

    .venv/bin/python benchmarks/hostile_class.py [--honest 20] [--workers 2] [--budget 120]

Builds the hostile notebooks of `tests/attacks/test_one_notebook.py` and ``--honest`` complete
chapter-1 notebooks, grades them all with ``python -m autograder grade`` (default options but
the workers and the budget) and prints the wall time, the peak memory of the command and of
everything it ran (the instructor's side and the sandboxes: the largest single process), and
each notebook's status, score and flags.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.attacks import attack_notebook, grade_class  # noqa: E402
from tests.attacks.test_one_notebook import ATTACKS, BAD_NAME, REFUSED  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--honest", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=float, default=120.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        students = {name: build() for name, (build, *_) in {**ATTACKS, **REFUSED}.items()}
        students.update({f"honest_{i:02d}": attack_notebook() for i in range(args.honest)})
        bad = root / "submitted" / BAD_NAME.decode("utf-8", "surrogateescape")
        (bad / "01_cross_correlation").mkdir(parents=True)
        (bad / "01_cross_correlation" / "01_cross_correlation.ipynb").write_text(
            __import__("json").dumps(attack_notebook()))
        run = grade_class(root, students, "--notebook-budget", args.budget,
                          workers=args.workers, timeout=3600)
        print(f"{len(run.rows)} notebooks, {args.workers} workers: {run.seconds:.0f} s wall, "
              f"exit {run.proc.returncode}, peak memory of one process "
              f"{run.max_rss_bytes / 2**30:.2f} GiB")
        print(f"{'student':28s} {'status':22s} {'score':>6s}  flags")
        for (student, _), row in sorted(run.rows.items()):
            score = "" if row["score"] is None else f"{row['score']:g}"
            print(f"{student[:28]:28s} {row['status'][:22]:22s} {score:>6s}  {row['flags']}"
                  + (f"  ({row['reason'][:60]})" if row["reason"] else ""))


if __name__ == "__main__":
    main()
