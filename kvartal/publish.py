"""Versioned, idempotent publishing to the recipients' location (CONTRACT §7).

Recipients may read at any moment, and a run may die at any moment, so the order of writes
is the whole design: a version's files, then its manifest (the version exists from here on),
then the copy at `<quarter>/`, again manifest last, then `index.html`. A manifest only ever
names files that are already complete, and `<quarter>/versions/<n>/` is never written again
once its manifest is there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import kvartal
from kvartal.model import SourceFile
from kvartal.quarters import Quarter, QuarterError
from kvartal.storage import AlreadyExists, Storage

MANIFEST = "manifest.json"
INDEX = "index.html"
CORE_FIELDS = ("quarter", "version", "fingerprint", "published_at", "files")

_VERSION_KEY = re.compile(r"^(?P<quarter>[^/]+)/versions/(?P<n>[1-9][0-9]*)/(?P<name>.+)$")


class PublishConflict(RuntimeError):
    """Another publisher wrote the same version number at the same time."""


class IndexVersion(NamedTuple):
    version: int
    published_at: str
    keys: list[str]  # the version's own keys, relative to the publish root; manifest last


@dataclass(frozen=True)
class IndexEntry:
    """One published quarter as `index.html` lists it; `versions` newest first."""

    quarter: str
    versions: list[IndexVersion]


@dataclass
class PublishResult:
    quarter: str
    version: int
    created: bool
    keys: list[str]  # the version's immutable keys `<quarter>/versions/<n>/…`, manifest last
    location: str  # where a person finds the quarter's report
    written: list[str] = field(default_factory=list)  # every key this call wrote, in order


def fingerprint(sources: list[SourceFile], settings: dict[str, Any]) -> str:
    """Equal fingerprints mean the same report: same inputs, same code, same arithmetic.

    Paths are part of it because moving a workbook to another quarter's folder changes
    what it counts for. `settings` must be JSON-able; a value without a stable text form
    would make every run look new.
    """
    canonical = json.dumps(
        {
            "kvartal": kvartal.__version__,
            "settings": settings,
            "sources": sorted([s.path, s.sha256] for s in sources),
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def version_key(quarter: str, version: int, name: str) -> str:
    return f"{quarter}/versions/{version}/{name}"


def _versions(storage: Storage, quarter: str) -> dict[int, set[str]]:
    """Every version number with any key under it, and the names found there."""
    found: dict[int, set[str]] = {}
    for key in storage.list(f"{quarter}/versions"):
        m = _VERSION_KEY.match(key)
        if m and m["quarter"] == quarter:
            found.setdefault(int(m["n"]), set()).add(m["name"])
    return found


def _published(storage: Storage, quarter: str) -> list[int]:
    """Version numbers that exist, i.e. have a manifest; newest first."""
    return sorted((n for n, names in _versions(storage, quarter).items() if MANIFEST in names),
                  reverse=True)


def _read_manifest(storage: Storage, quarter: str, version: int) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(storage.read(version_key(quarter, version, MANIFEST)))
    return manifest


def latest_version(storage: Storage, quarter: str) -> tuple[int, dict[str, Any]] | None:
    """The newest version that has a manifest; files of an unfinished one do not count."""
    published = _published(storage, quarter)
    if not published:
        return None
    return published[0], _read_manifest(storage, quarter, published[0])


def index_entries(storage: Storage) -> list[IndexEntry]:
    """Every published quarter, newest first, each with its versions newest first."""
    by_quarter: dict[str, list[int]] = {}
    for key in storage.list():
        m = _VERSION_KEY.match(key)
        if m and m["name"] == MANIFEST:
            by_quarter.setdefault(m["quarter"], []).append(int(m["n"]))
    entries: list[tuple[Quarter, IndexEntry]] = []
    for quarter, numbers in by_quarter.items():
        try:
            order = Quarter.parse(quarter)
        except QuarterError:
            continue  # not a quarter folder of ours
        versions = []
        for n in sorted(numbers, reverse=True):
            manifest = _read_manifest(storage, quarter, n)
            versions.append(IndexVersion(n, str(manifest.get("published_at", "")),
                                         _manifest_keys(quarter, n, manifest)))
        entries.append((order, IndexEntry(quarter, versions)))
    return [entry for _, entry in sorted(entries, key=lambda pair: pair[0], reverse=True)]


def _manifest_keys(quarter: str, version: int, manifest: dict[str, Any]) -> list[str]:
    names = [f["name"] for f in manifest.get("files", [])]
    return [version_key(quarter, version, name) for name in [*names, MANIFEST]]


def _check_names(files: dict[str, bytes]) -> None:
    if not files:
        raise ValueError("render returned no files: there is nothing to publish")
    for name in files:
        parts = name.split("/")
        if name == MANIFEST or name.startswith("versions/") or any(
                part in ("", ".", "..") for part in parts):
            raise ValueError(f"{name!r} cannot be published as a file of a version")


def build_manifest(quarter: str, version: int, fingerprint_: str, files: dict[str, bytes],
                   extra: dict[str, Any], published_at: datetime | None = None) -> bytes:
    clash = sorted(set(extra) & set(CORE_FIELDS))
    if clash:
        raise ValueError(f"manifest_extra may not set {', '.join(clash)}")
    moment = published_at or datetime.now(UTC)
    manifest = {
        **extra,
        "quarter": quarter,
        "version": version,
        "fingerprint": fingerprint_,
        "published_at": moment.astimezone(UTC).isoformat(timespec="seconds"),
        "files": [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                  for name, data in sorted(files.items())],
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def publish(storage: Storage, quarter: str, *, fingerprint: str,
            render: Callable[[int], dict[str, bytes]], manifest_extra: dict[str, Any],
            index_renderer: Callable[[list[IndexEntry]], bytes]) -> PublishResult:
    """Publish the quarter as a new version unless the newest already has this fingerprint.

    The same fingerprint writes nothing, except to finish a copy to `<quarter>/` or an
    `index.html` that an interrupted run left behind (`index_renderer` must therefore be a
    function of its entries alone, no clock). A retry that renders the same bytes may
    resume an unfinished version; other bytes at one of its keys mean another publisher is
    at work, and PublishConflict is raised rather than mixing two renderings in one version.
    """
    quarter = str(Quarter.parse(quarter))
    written: list[str] = []
    latest = latest_version(storage, quarter)
    if latest is not None and latest[1].get("fingerprint") == fingerprint:
        n, manifest = latest
        manifest_bytes = storage.read(version_key(quarter, n, MANIFEST))
        if _current_manifest(storage, quarter) != manifest_bytes:
            names = [f["name"] for f in manifest.get("files", [])]
            files = {name: storage.read(version_key(quarter, n, name)) for name in names}
            _promote(storage, quarter, files, manifest_bytes, written)
        _write_index(storage, index_renderer, written)
        return PublishResult(quarter, n, False, _manifest_keys(quarter, n, manifest),
                             storage.location(f"{quarter}/report.html"), written)

    n = latest[0] + 1 if latest is not None else 1
    files = render(n)
    _check_names(files)
    # Built before anything is written: a manifest that cannot be made must leave no debris.
    manifest_bytes = build_manifest(quarter, n, fingerprint, files, manifest_extra)
    for name, data in files.items():
        key = version_key(quarter, n, name)
        try:
            storage.write(key, data, create_only=True)
        except AlreadyExists as exc:
            raise PublishConflict(_conflict(storage, quarter, n, key)) from exc
        written.append(key)
    manifest_key = version_key(quarter, n, MANIFEST)
    try:
        storage.write(manifest_key, manifest_bytes, create_only=True)
    except AlreadyExists as exc:
        raise PublishConflict(_conflict(storage, quarter, n, manifest_key)) from exc
    written.append(manifest_key)

    # A slower run must not put an older version back over a newer one at <quarter>/.
    if _published(storage, quarter)[0] == n:
        _promote(storage, quarter, files, manifest_bytes, written)
    _write_index(storage, index_renderer, written)
    return PublishResult(quarter, n, True, [*(version_key(quarter, n, name)
                                               for name in sorted(files)), manifest_key],
                         storage.location(f"{quarter}/report.html"), written)


def _current_manifest(storage: Storage, quarter: str) -> bytes | None:
    try:
        return storage.read(f"{quarter}/{MANIFEST}")
    except FileNotFoundError:
        return None


def _promote(storage: Storage, quarter: str, files: dict[str, bytes], manifest_bytes: bytes,
             written: list[str]) -> None:
    """The copy at `<quarter>/` is overwritten in place; its manifest goes last."""
    for name, data in files.items():
        key = f"{quarter}/{name}"
        storage.write(key, data)
        written.append(key)
    storage.write(f"{quarter}/{MANIFEST}", manifest_bytes)
    written.append(f"{quarter}/{MANIFEST}")


def _write_index(storage: Storage, index_renderer: Callable[[list[IndexEntry]], bytes],
                 written: list[str]) -> None:
    page = index_renderer(index_entries(storage))
    try:
        if storage.read(INDEX) == page:
            return
    except FileNotFoundError:
        pass
    storage.write(INDEX, page)
    written.append(INDEX)


def _conflict(storage: Storage, quarter: str, version: int, key: str) -> str:
    return (
        f"{storage.location(key)} already holds other bytes: another run is publishing "
        f"version {version} of {quarter} at the same time. Run again when it has finished. "
        f"If no other run is active, {storage.location(version_key(quarter, version, ''))} "
        "holds the files of an interrupted run that rendered differently; it has no "
        "manifest, so no reader relies on it: remove that folder and run again."
    )
