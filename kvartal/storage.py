"""One small storage interface with a local-folder face and an S3 face, chosen by URL.

The inbox, the operator's review location and the recipients' publish location are all
"somewhere with keys": the stages only ever list, read and write keys relative to a root.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

_TMP_PREFIX = ".tmp-"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes owner-only files; a published file must be as readable as any other the
# process would create (a web server often serves the publish folder as another user).
_FILE_MODE = 0o666 & ~_current_umask()


class AlreadyExists(Exception):
    """A create-only write found the key already there."""


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

    def exists(self, key: str) -> bool: ...

    def location(self, key: str) -> str:
        """Where a person finds `key`: a path or an s3:// URL."""


class LocalStorage:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root != p and self.root not in p.parents:
            raise ValueError(f"{key!r} is outside {self.root}")
        return p

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return []
        if base.is_file():
            return [base.relative_to(self.root).as_posix()]
        # `.tmp-*` are other writers' unfinished files (see `write`), not keys yet.
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*")
                      if p.is_file() and not p.name.startswith(_TMP_PREFIX))

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def write(self, key: str, data: bytes, *, content_type: str | None = None,
              create_only: bool = False) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX, suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                if hasattr(os, "fchmod"):  # not on Windows before 3.13
                    os.fchmod(fh.fileno(), _FILE_MODE)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if create_only:
                try:
                    os.link(tmp, path)  # fails if the name exists: no check-then-write race
                except FileExistsError as exc:
                    if path.read_bytes() != data:
                        raise AlreadyExists(key) from exc
                os.unlink(tmp)
            else:
                os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def location(self, key: str) -> str:
        return str(self._path(key))


def open_storage(url: str) -> Storage:
    """`s3://bucket/prefix` gives S3; anything else is a local folder."""
    if url.startswith("s3://"):
        from kvartal.s3 import S3Storage  # boto3 only on the paths that need it

        return S3Storage.from_url(url)
    if url.startswith("file://"):
        url = url[len("file://"):]
    return LocalStorage(url)


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
            "valideringsrapporter må aldrig nå modtagerne. Vælg et andet --review-to.")
