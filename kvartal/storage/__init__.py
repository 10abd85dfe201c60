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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kvartal.storage.base import (
    AlreadyExists,
    Capabilities,
    ConditionalWritesUnsupported,
    Storage,
    pid_alive,
)
from kvartal.storage.local import LocalStorage

__all__ = [
    "BACKENDS",
    "AlreadyExists",
    "Backend",
    "Capabilities",
    "ConditionalWritesUnsupported",
    "LocalStorage",
    "Storage",
    "backend_for",
    "check_locations",
    "install_wrapper",
    "open_storage",
    "require_conditional_writes",
    "shared_services",
]

PROBE_PREFIX = ".kvartal/probe"
_HOST = socket.gethostname()
_probed: dict[str, bool] = {}
_probe_lock = threading.Lock()


@dataclass(frozen=True)
class Backend:
    """A kind of location, known by its URL scheme: how to open it, the prefix that tells
    whether one location lies inside another, and the service many inboxes share (run-all
    limits how many runs talk to it at once; None: nothing shared)."""

    scheme: str
    open: Callable[[str], Storage]
    root: Callable[[str], str]
    shared_service: Callable[[str], str] | None = None  # given the S3 endpoint setting


def _open_s3(url: str) -> Storage:
    from kvartal.storage.s3 import S3Storage  # boto3 only on the paths that need it

    return S3Storage.from_url(url)


def _local_root(url: str) -> str:
    return str(Path(url.removeprefix("file://")).expanduser().resolve()) + "/"


BACKENDS: dict[str, Backend] = {
    "s3": Backend(
        "s3",
        _open_s3,
        lambda url: url.rstrip("/") + "/",
        lambda endpoint: endpoint or "aws",
    ),
    "file": Backend("file", lambda url: LocalStorage(url.removeprefix("file://")), _local_root),
}


def backend_for(url: str) -> Backend:
    """The backend of `url`'s scheme; a path, or any scheme not registered, is a folder."""
    scheme = url.split("://", 1)[0] if "://" in url else "file"
    return BACKENDS.get(scheme, BACKENDS["file"])


# Wrappers every opened location is handed through, in order; none in production. The
# fault harness in the tests installs one that kills the process at a write boundary.
_wrappers: list[Callable[[Storage], Storage]] = []


def install_wrapper(wrapper: Callable[[Storage], Storage]) -> None:
    _wrappers.append(wrapper)


def open_storage(url: str) -> Storage:
    """`s3://bucket/prefix` gives S3; anything else is a local folder."""
    storage = backend_for(url).open(url)
    for wrap in _wrappers:
        storage = wrap(storage)
    return storage


def shared_services(urls: Iterable[str], s3_endpoint: str) -> list[tuple[str, str]]:
    """(scheme, service) of every shared service these locations use, each once, sorted."""
    found = set()
    for url in urls:
        backend = backend_for(url)
        if backend.shared_service is not None:
            found.add((backend.scheme, backend.shared_service(s3_endpoint)))
    return sorted(found)


def require_conditional_writes(storage: Storage) -> None:
    """Refuse a location whose server ignores create-only writes; probed once per process.

    A local folder always honours them (a hard link never replaces a name) and says so
    with `honours_create_only`. On S3 the
    probe writes one small object create-only twice with different bytes: a server that
    honours `If-None-Match: *` refuses the second. Two requests and a delete per location
    and process, before anything is published.
    """
    if storage.honours_create_only:
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
    p, r = backend_for(publish_to).root(publish_to), backend_for(review_to).root(review_to)
    if r.startswith(p):
        raise ValueError(
            f"Gennemsynsstedet ({review_to}) ligger i modtagernes udgivelsessted ({publish_to}): "
            "valideringsrapporter må aldrig nå modtagerne. Vælg et andet --review-to."
        )
