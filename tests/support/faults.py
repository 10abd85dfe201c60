"""The fault harness's hooks: a storage wrapper that SIGKILLs (or SIGSTOPs) its own process
at a write boundary, as a power cut or a VM pause would, and can note every boundary passed.

Test-only, and kept out of the production writes: the harness installs the wrapper with
`kvartal.storage.install_wrapper` in every process whose environment asks for it, the
subprocesses included (`tests/support/faulthook/sitecustomize.py`, on the PYTHONPATH the
tests set). The variables:

- `KVARTAL_FAULT_KILL_AT`: a number N kills at the Nth boundary of the process (1-based);
  anything else is a pattern (fnmatch) for the first boundary whose label matches.
- `KVARTAL_FAULT_TRACE=<file>`: every label is appended to that file.
- `KVARTAL_FAULT_STOP_AT=<pattern>`: stop (SIGSTOP) at the first matching boundary, until
  the harness sends SIGCONT.

Labels: `temp <where>` (a local write's temporary file is complete, the key untouched),
`write <where>` (the key holds the new bytes) and `delete <where>` (the key is gone);
`<where>` is the storage's `location(key)`.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import threading
from pathlib import Path
from typing import Any

from kvartal.storage import Capabilities, Storage

KILL_ENV = "KVARTAL_FAULT_KILL_AT"
TRACE_ENV = "KVARTAL_FAULT_TRACE"
STOP_ENV = "KVARTAL_FAULT_STOP_AT"
# put first on a subprocess's PYTHONPATH, it installs the hooks there at start-up
HOOK_DIR = str(Path(__file__).resolve().parent / "faulthook")

_lock = threading.Lock()
_count = 0
_stopped = False


def wanted() -> bool:
    return any(os.environ.get(name, "").strip() for name in (KILL_ENV, TRACE_ENV, STOP_ENV))


def point(label: str) -> None:
    """Die here when the environment asks for this boundary; note it when asked to trace."""
    global _count, _stopped
    trace = os.environ.get(TRACE_ENV, "")
    raw = os.environ.get(KILL_ENV, "").strip()
    stop = os.environ.get(STOP_ENV, "").strip()
    if stop and not _stopped and fnmatch.fnmatchcase(label, stop):
        _stopped = True  # once: the resumed process goes on as a stalled one would
        os.kill(os.getpid(), signal.SIGSTOP)
    if not raw and not trace:
        return
    with _lock:
        _count += 1
        count = _count
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


class ForwardingStorage(Capabilities):
    """The protocol's methods handed to another storage, for tests' wrappers to extend."""

    def __init__(self, inner: Storage):
        self.inner = inner
        self.url = inner.url
        self.honours_create_only = inner.honours_create_only

    def list(self, prefix: str = "") -> list[str]:
        return self.inner.list(prefix)

    def read(self, key: str) -> bytes:
        return self.inner.read(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def location(self, key: str) -> str:
        return self.inner.location(key)

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        self.inner.write(key, data, content_type=content_type, create_only=create_only)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


class FaultStorage(ForwardingStorage):
    """A storage that passes each completed write and delete through `point`."""

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        super().write(key, data, content_type=content_type, create_only=create_only)
        point(f"write {self.inner.location(key)}")

    def delete(self, key: str) -> None:
        super().delete(key)
        point(f"delete {self.inner.location(key)}")

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return self.inner.presigned_url(key, expires_seconds)

    def prune(self, prefix: str) -> None:
        self.inner.prune(prefix)

    def __getattr__(self, name: str) -> Any:
        # what a face offers beyond the protocol (a folder's root, a bucket's client)
        return getattr(self.inner, name)


_installed = False


def install() -> None:
    """Hand every storage this process opens through the hooks; once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    import kvartal.storage.local
    from kvartal.storage import install_wrapper

    install_wrapper(FaultStorage)
    kvartal.storage.local.after_temp = point
