"""The local-folder face of `Storage`: keys are files under a root folder.

Every write goes to a temporary file in `<root>/.kvartal-tmp/`, is flushed to disk, and is
then renamed (or, create-only, hard-linked) into place, so a reader sees the old bytes or
the new, never a part. The temporary files of a process that died (killed, power cut, disk
full) are removed by the next process that writes under the same root; they never sit
beside the published files, and `list` never shows them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

from kvartal.storage.base import AlreadyExists, Capabilities, pid_alive

TMP_DIR = ".kvartal-tmp"
# Told, when set, that a write's temporary file is complete and its key still untouched:
# the one boundary inside a write that a wrapper cannot see. Only the fault harness in the
# tests sets it (to kill the process there); a production write never reads a setting.
after_temp: Callable[[str], None] | None = None
# Files of writers older than this are left-overs even if their process id is in use again
# (or belongs to another machine sharing the folder): a write takes seconds, not an hour.
_STALE_SECONDS = 3600
# Older kvartal versions wrote `.tmp-*` beside the target; they are never keys either.
_LEGACY_TMP_PREFIX = ".tmp-"
_HOST = socket.gethostname().replace("-", "_")


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes owner-only files; a published file must be as readable as any other the
# process would create (a web server often serves the publish folder as another user).
_FILE_MODE = 0o666 & ~_current_umask()


def _fsync_dir(path: Path) -> None:
    """The rename itself must survive a power cut, not only the file's bytes."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # not every platform opens folders
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; the rename is still atomic
    finally:
        os.close(fd)


def _named_full_disk(exc: OSError, path: Path) -> OSError:
    """A full disk names the place that is full; the errno stays, so callers can tell."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return exc
    return OSError(
        exc.errno,
        f"Disken er fuld ved {path}: der er ikke plads til at skrive filen. Intet halvt "
        "skrevet er synligt; frigør plads (eller hæv kvoten) og kør igen. / The disk is full "
        f"at {path}.",
        str(path),
    )


class LocalStorage(Capabilities):
    honours_create_only = True  # os.link never replaces a name: nothing to probe

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)
        self._swept = False

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
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in _files_below(base, self.root / TMP_DIR)
            if not p.name.startswith(_LEGACY_TMP_PREFIX)
        )

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Also removes folders the deletion leaves empty, up to the root: a folder holds
        only what is in it, as an S3 prefix does."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            _fsync_dir(path.parent)
        folder = path.parent
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone): the folders above are kept too
                break
            folder = folder.parent

    def prune(self, prefix: str) -> None:
        """Remove empty folders under `prefix`, deepest first: a run killed between making
        a folder and placing its first file leaves one, and no key is there to delete.
        A folder a writer is about to fill is made again by its write."""
        base = self._path(prefix)
        if not base.is_dir():
            return
        # deepest first; a folder another process removes meanwhile is simply not there
        for here, dirs, _ in os.walk(base, topdown=False):
            for name in dirs:
                with contextlib.suppress(OSError):
                    (Path(here) / name).rmdir()
        folder = base
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def sweep(self) -> int:
        """Remove temporary files whose writer is gone; returns how many.

        A name is `<host>-<pid>-<random>`: on this host a dead process id is enough, for
        anything else the file must be older than an hour.
        """
        tmp = self.root / TMP_DIR
        removed = 0
        if not tmp.is_dir():
            return removed
        now = time.time()
        try:
            entries = list(tmp.iterdir())
        except FileNotFoundError:  # another writer removed the emptied folder just now
            entries = []
        for p in entries:
            host, _, rest = p.name.partition("-")
            pid_text = rest.partition("-")[0]
            try:
                age = now - p.stat().st_mtime
            except FileNotFoundError:
                continue
            ours = host == _HOST and pid_text.isdigit()
            dead = ours and not pid_alive(int(pid_text))
            if dead or age > _STALE_SECONDS:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                    removed += 1
        # Left-overs of older versions, which wrote beside the target.
        for p in _files_below(self.root, self.root / TMP_DIR):
            if not p.name.startswith(_LEGACY_TMP_PREFIX):
                continue
            with contextlib.suppress(FileNotFoundError):
                if now - p.stat().st_mtime > _STALE_SECONDS:
                    p.unlink()
                    removed += 1
        return removed

    def _open_temp(self, suffix: str) -> tuple[Path, int]:
        """A new temporary file in the root's temporary folder, created if missing.

        Another writer may remove the folder the moment it is empty (see `write`), so a
        vanished folder is made again.
        """
        tmp_dir = self.root / TMP_DIR
        for _ in range(10):
            tmp_dir.mkdir(parents=True, exist_ok=True)
            if not self._swept:
                self._swept = True
                self.sweep()
            tmp = tmp_dir / f"{_HOST}-{os.getpid()}-{secrets.token_hex(8)}{suffix}"
            try:
                return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
            except FileNotFoundError:
                continue
        raise FileNotFoundError(f"{tmp_dir} keeps disappearing")

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        path = self._path(key)
        try:
            self._write(path, key, data, create_only)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise _named_full_disk(exc, path) from exc

    @staticmethod
    def _make_folder(folder: Path) -> None:
        """Another writer's delete or prune may remove an emptied parent while this one is
        being made (mkdir then fails with FileNotFoundError): made again."""
        for attempt in range(10):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return
            except FileNotFoundError:
                if attempt == 9:
                    raise

    def _write(self, path: Path, key: str, data: bytes, create_only: bool) -> None:
        self._make_folder(path.parent)
        tmp, fd = self._open_temp(path.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                if hasattr(os, "fchmod"):  # the umask may be stricter than _FILE_MODE
                    os.fchmod(fh.fileno(), _FILE_MODE)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if after_temp is not None:
                after_temp(f"temp {path}")
            for attempt in range(5):
                try:
                    self._place(tmp, path, data, key, create_only)
                    break
                except FileNotFoundError:  # a delete removed the emptied folder meanwhile
                    if attempt == 4 or not tmp.exists():
                        raise
                    self._make_folder(path.parent)
            _fsync_dir(path.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        finally:
            with contextlib.suppress(OSError):  # still in use by another writer: kept
                os.rmdir(tmp.parent)

    @staticmethod
    def _place(tmp: Path, path: Path, data: bytes, key: str, create_only: bool) -> None:
        if create_only:
            try:
                os.link(tmp, path)  # fails if the name exists: no check-then-write race
            except FileExistsError as exc:
                if path.read_bytes() != data:
                    raise AlreadyExists(key) from exc
            os.unlink(tmp)
        else:
            os.replace(tmp, path)

    def location(self, key: str) -> str:
        return str(self._path(key))


def _files_below(base: Path, skip: Path) -> list[Path]:
    """The files under `base`, leaving out the folder `skip`.

    `os.walk`, not `Path.rglob`: another process removes folders while this one walks them
    (a version's spent staging folder, an emptied temporary folder), and `rglob` stops the
    whole listing with FileNotFoundError where `os.walk` leaves the vanished folder out. A
    file that goes between the walk and the check is left out as well.
    """
    found: list[Path] = []
    for folder, dirs, files in os.walk(base):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d != skip]
        found += [here / name for name in files if (here / name).is_file()]
    return found
