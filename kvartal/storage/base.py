"""The storage protocol both faces implement, its optional capabilities and its errors.

Kept free of both faces so that `local` and `s3` import this module and never each other.
"""

from __future__ import annotations

import os
from typing import Protocol


class AlreadyExists(Exception):
    """A create-only write found the key already there."""


class ConditionalWritesUnsupported(RuntimeError):
    """The server overwrote a key that a create-only write said must not exist.

    Publishing relies on create-only writes to tell two publishers apart; on such a
    server two runs could both believe they wrote the same version.
    """


class Storage(Protocol):
    """Every face has these; the optional capabilities below are declared, with their
    defaults in `Capabilities`, so no caller has to ask whether a face has them."""

    url: str
    # create-only writes are refused by the face itself, so the probe is not needed
    honours_create_only: bool

    def list(self, prefix: str = "") -> list[str]:
        """Every key under `prefix` (recursive), relative to the root, with `/`, sorted."""

    def read(self, key: str) -> bytes:
        """The bytes at `key`; FileNotFoundError when there is none."""

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        """Store atomically: readers see the old bytes or the new, never a part.

        With `create_only`, the key must not exist yet, or must already hold exactly these
        bytes (so a retried write of our own, whose first attempt landed, is not an error);
        any other bytes there raise AlreadyExists. No faces check-then-write.
        """

    def delete(self, key: str) -> None:
        """Remove `key`; a key that is already gone is not an error."""

    def exists(self, key: str) -> bool: ...

    def location(self, key: str) -> str:
        """Where a person finds `key`: a path or an s3:// URL."""

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        """A link that opens `key` without credentials, or None where the face has none."""

    def prune(self, prefix: str) -> None:
        """Remove empty folders under `prefix` where a face keeps them (a local folder)."""


class Capabilities:
    """The optional capabilities' defaults: a face (or a test's stand-in) inherits these and
    overrides what it has."""

    honours_create_only: bool = False

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return None

    def prune(self, prefix: str) -> None:
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine still runs: its unfinished work is not abandoned."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
