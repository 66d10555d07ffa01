"""The course secret: the key from which every student's hidden-test seed is derived
(`autograder.job.student_seed`). Standard library only; it lives beside the gradebook, outside
the repository and every sandbox.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["read_or_create_secret", "SECRET_FILE"]

SECRET_FILE = "course-secret"


def read_or_create_secret(folder):
    """The course secret in ``folder/course-secret``, created (random, mode 0600) on first use."""
    path = Path(folder) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()
