"""The storage protocol both faces implement, its errors, and the test-only fault points.

Kept free of both faces so that `local` and `s3` import this module and never each other.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Protocol

# Test-only: `KVARTAL_FAULT_KILL_AT=N` SIGKILLs the process at the Nth fault point (1-based)
# counted over the whole process. A local write has two points (its temporary file is
# complete; the key is in place), an S3 write and a delete have one (done). The fault
# harness in tests/ uses it to kill a real run at every write boundary; unset, it costs one
# dictionary look-up per write.
FAULT_KILL_ENV = "KVARTAL_FAULT_KILL_AT"

_fault_lock = threading.Lock()
_fault_count = 0


def fault_point() -> None:
    """Die here, like a power cut, when the harness asked for this point."""
    global _fault_count
    raw = os.environ.get(FAULT_KILL_ENV, "").strip()
    if not raw:
        return
    with _fault_lock:
        _fault_count += 1
        due = _fault_count == int(raw)
    if due:
        os.kill(os.getpid(), signal.SIGKILL)


class AlreadyExists(Exception):
    """A create-only write found the key already there."""


class ConditionalWritesUnsupported(RuntimeError):
    """The server overwrote a key that a create-only write said must not exist.

    Publishing relies on create-only writes to tell two publishers apart; on such a
    server two runs could both believe they wrote the same version.
    """


class Storage(Protocol):
    url: str

    def list(self, prefix: str = "") -> list[str]:
        """Every key under `prefix` (recursive), relative to the root, with `/`, sorted."""

    def read(self, key: str) -> bytes:
        """The bytes at `key`; FileNotFoundError when there is none."""

    def write(self, key: str, data: bytes, *, content_type: str | None = None,
              create_only: bool = False) -> None:
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
