"""One small storage interface with a local-folder face and an S3 face, chosen by URL.

The inbox, the operator's review location and the recipients' publish location are all
"somewhere with keys": the stages only ever list, read, write and delete keys relative to a
root. `base` holds the protocol; `local` and `s3` each import only `base`, so there is no
cycle, and boto3 is imported only when an s3:// location is opened.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from pathlib import Path

from kvartal.storage.base import (
    AlreadyExists,
    ConditionalWritesUnsupported,
    Storage,
    fault_point,
    pid_alive,
)
from kvartal.storage.local import LocalStorage

__all__ = [
    "AlreadyExists",
    "ConditionalWritesUnsupported",
    "LocalStorage",
    "Storage",
    "check_locations",
    "fault_point",
    "open_storage",
    "require_conditional_writes",
]

PROBE_PREFIX = ".kvartal/probe"
_HOST = socket.gethostname()
_probed: dict[str, bool] = {}
_probe_lock = threading.Lock()


def open_storage(url: str) -> Storage:
    """`s3://bucket/prefix` gives S3; anything else is a local folder."""
    if url.startswith("s3://"):
        from kvartal.storage.s3 import S3Storage  # boto3 only on the paths that need it

        return S3Storage.from_url(url)
    if url.startswith("file://"):
        url = url[len("file://") :]
    return LocalStorage(url)


def require_conditional_writes(storage: Storage) -> None:
    """Refuse a location whose server ignores create-only writes; probed once per process.

    A local folder always honours them (a hard link never replaces a name) and says so
    with `honours_create_only`. On S3 the
    probe writes one small object create-only twice with different bytes: a server that
    honours `If-None-Match: *` refuses the second. Two requests and a delete per location
    and process, before anything is published.
    """
    if getattr(storage, "honours_create_only", False):
        return
    with _probe_lock:
        known = _probed.get(storage.url)
    if known is None:
        _drop_dead_probes(storage)
        key = f"{PROBE_PREFIX}/{secrets.token_hex(8)}.{os.getpid()}.{_HOST}"
        storage.write(key, b"1", create_only=True)
        try:
            storage.write(key, b"2", create_only=True)
            known = False
        except AlreadyExists:
            known = True
        finally:
            storage.delete(key)
        with _probe_lock:
            _probed[storage.url] = known
    if not known:
        raise ConditionalWritesUnsupported(
            f"Lageret {storage.url} overskriver objekter, selv når en skrivning kun må oprette "
            "(If-None-Match: *). Så kan to samtidige kørsler ikke skelnes, og kvartal "
            "udgiver ikke dertil. Brug AWS S3, MinIO (2024 eller nyere) eller en anden "
            "server, der understøtter betingede skrivninger. / The storage at "
            f"{storage.url} ignores create-only writes (If-None-Match: *); kvartal refuses "
            "to publish there. Use a server that supports conditional writes."
        )


def _drop_dead_probes(storage: Storage) -> None:
    """Probe objects of processes on this machine that died mid-probe (a kill)."""
    for key in storage.list(PROBE_PREFIX):
        _, pid, host = (key.rsplit("/", 1)[-1].split(".", 2) + ["", ""])[:3]
        if host == _HOST and pid.isdigit() and not pid_alive(int(pid)):
            storage.delete(key)


def check_locations(publish_to: str, review_to: str) -> None:
    """Refuse a review location inside (or equal to) the publish location."""

    def norm(url: str) -> str:
        if url.startswith("s3://"):
            return url.rstrip("/") + "/"
        return str(Path(url.removeprefix("file://")).expanduser().resolve()) + "/"

    p, r = norm(publish_to), norm(review_to)
    if r.startswith(p):
        raise ValueError(
            f"Gennemsynsstedet ({review_to}) ligger i modtagernes udgivelsessted ({publish_to}): "
            "valideringsrapporter må aldrig nå modtagerne. Vælg et andet --review-to."
        )
