"""What a manifest says about the code that made it."""

from __future__ import annotations

import functools
import subprocess

from kvartal import __version__
from kvartal.config import REPO_ROOT


@functools.cache
def git_revision() -> str | None:
    """The commit kvartal runs from: an installed copy may say it through KVARTAL_GIT_REVISION."""
    from kvartal.config import settings

    if settings().git_revision:
        return settings().git_revision
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def kvartal_version() -> str:
    return __version__
