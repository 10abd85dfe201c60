"""The storage protocol both faces implement, its errors, and the test-only fault points.

Kept free of both faces so that `local` and `s3` import this module and never each other.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import threading
from typing import Protocol

from kvartal.config import settings

# Test-only, for the fault harness in tests/: `KVARTAL_FAULT_KILL_AT` SIGKILLs the process,
# like a power cut, at a write boundary. A number N means the Nth fault point of the process
# (1-based); anything else is a pattern (fnmatch) for the first point whose label matches.
# Labels are `temp <where>` (a local write's temporary file is complete, the key untouched),
# `write <where>` (the key holds the new bytes) and `delete <where>`. With
# `KVARTAL_FAULT_TRACE=<file>` every label is appended to that file, so a test can see the
# boundaries a run passes. `KVARTAL_FAULT_STOP_AT=<pattern>` instead stops the process
# (SIGSTOP) at the first matching point, as a VM pause or a long stall would, until the
# harness sends SIGCONT. Unset, each costs a few dictionary look-ups per write.
FAULT_KILL_ENV = "KVARTAL_FAULT_KILL_AT"
FAULT_TRACE_ENV = "KVARTAL_FAULT_TRACE"
FAULT_STOP_ENV = "KVARTAL_FAULT_STOP_AT"

_fault_lock = threading.Lock()
_fault_count = 0
_stopped = False


def fault_point(label: str) -> None:
    """Die here when the harness asked for this point; note it when asked to trace."""
    global _fault_count
    global _stopped
    trace = settings().fault_trace
    raw = settings().fault_kill_at.strip()
    stop = settings().fault_stop_at.strip()
    if stop and not _stopped and fnmatch.fnmatchcase(label, stop):
        _stopped = True  # once: the resumed process goes on as a stalled one would
        os.kill(os.getpid(), signal.SIGSTOP)
    if not raw and not trace:
        return
    with _fault_lock:
        _fault_count += 1
        count = _fault_count
        if trace:
            with open(trace, "a", encoding="utf-8") as fh:
                fh.write(label + "\n")
    due = (
        raw.isdigit()
        and count == int(raw)
        or (bool(raw) and not raw.isdigit() and fnmatch.fnmatchcase(label, raw))
    )
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


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine still runs: its unfinished work is not abandoned."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
