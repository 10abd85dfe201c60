"""Versioned, idempotent publishing to the recipients' location (CONTRACT §7).

Recipients may read at any moment, and a run may die at any moment, so the order of writes
is the whole design (docs/design.md, "Publishing write order"):

1. a create-only *claim* on version n (`.kvartal/claims/<quarter>/v<n>/<generation>.json`)
   says who is writing it, with which fingerprint and since when (removed once the
   version is published and copied);
2. the version's files, then its manifest, create-only: the version exists from here on,
   and `versions/<n>/` is never written again;
3. the copy at `<quarter>/`: its manifest is deleted first, then the files are replaced,
   then the manifest is written again;
4. `index.html`; then the spent claims are removed.

A manifest therefore only ever names files that hold exactly its bytes. A claim whose
writer is gone (its process is dead, or it is older than the lease) is taken over by the
next run under a new generation: with the same fingerprint it finishes the version with
the same publication time (so the same bytes), with another it reuses the number.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import kvartal
from kvartal.config import settings
from kvartal.model import SourceFile
from kvartal.quarters import Quarter, QuarterError
from kvartal.storage import AlreadyExists, Storage, require_conditional_writes
from kvartal.storage.base import pid_alive

MANIFEST = "manifest.json"
INDEX = "index.html"
CORE_FIELDS = ("quarter", "version", "fingerprint", "published_at", "files")

_VERSION_KEY = re.compile(r"^(?P<quarter>[^/]+)/versions/(?P<n>[1-9][0-9]*)/(?P<name>.+)$")


CLAIMS = ".kvartal/claims"
_HOST = socket.gethostname()
_PROMOTE_ATTEMPTS = 3
# Identifies this process's claims, so a retried task resumes its own version.
_OWNER = f"{_HOST}:{os.getpid()}:{secrets.token_hex(8)}"


class PublishConflict(RuntimeError):
    """Another publisher is writing the same version right now; retrying cannot help."""


@dataclass(frozen=True)
class Claim:
    """Who writes version n of a quarter, and the publication time its files carry."""

    generation: int
    fingerprint: str
    published_at: str  # ISO 8601, UTC, whole seconds: the fingerprint's first publication
    owner: str
    host: str
    pid: int
    claimed_at: float  # seconds since the epoch, for the lease

    def to_bytes(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Claim:
        d = json.loads(raw)
        return cls(
            int(d["generation"]),
            str(d["fingerprint"]),
            str(d["published_at"]),
            str(d["owner"]),
            str(d["host"]),
            int(d["pid"]),
            float(d["claimed_at"]),
        )

    def moment(self) -> datetime:
        return datetime.fromisoformat(self.published_at)


@dataclass(frozen=True)
class Plan:
    """What a run is about to publish: the version, and the time its files must carry."""

    version: int
    already: bool  # the newest published version has this fingerprint: nothing to render
    published_at: datetime


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
    published_at: str = ""  # ISO 8601: the version's publication time, from its manifest


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
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
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


def published_versions(storage: Storage, quarter: str) -> list[int]:
    """Version numbers that exist, i.e. have a manifest; oldest first."""
    return sorted(_published(storage, quarter))


def _published(storage: Storage, quarter: str) -> list[int]:
    """Version numbers that exist, i.e. have a manifest; newest first."""
    return sorted(
        (n for n, names in _versions(storage, quarter).items() if MANIFEST in names), reverse=True
    )


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
            versions.append(
                IndexVersion(
                    n, str(manifest.get("published_at", "")), _manifest_keys(quarter, n, manifest)
                )
            )
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
        if (
            name == MANIFEST
            or name.startswith("versions/")
            or any(part in ("", ".", "..") for part in parts)
        ):
            raise ValueError(f"{name!r} cannot be published as a file of a version")


def build_manifest(
    quarter: str,
    version: int,
    fingerprint_: str,
    files: dict[str, bytes],
    extra: dict[str, Any],
    published_at: datetime | None = None,
) -> bytes:
    clash = sorted(set(extra) & set(CORE_FIELDS))
    if clash:
        raise ValueError(f"manifest_extra may not set {', '.join(clash)}")
    moment = published_at or datetime.now(UTC)
    manifest = {
        **extra,
        "quarter": quarter,
        "version": version,
        "fingerprint": fingerprint_,
        "published_at": _iso(moment),
        "files": [
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        ],
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


# claims ------------------------------------------------------------------------------------


def claim_prefix(quarter: str, version: int) -> str:
    return f"{CLAIMS}/{quarter}/v{version}"


def _claims(storage: Storage, quarter: str, version: int) -> list[Claim]:
    """Every claim on the version, oldest generation first."""
    found: list[Claim] = []
    for key in storage.list(claim_prefix(quarter, version)):
        try:
            found.append(Claim.from_bytes(storage.read(key)))
        except FileNotFoundError:
            continue
    return sorted(found, key=lambda c: c.generation)


def _lease() -> float:
    """A claim younger than this, whose process may be alive, is a run still at work."""
    return float(settings().publish_lease)


def _writer_alive(claim: Claim) -> bool:
    """A claim is honoured while its run may still be writing: not after the lease, and
    not after its process died on this machine (a killed run is taken over at once)."""
    if time.time() - claim.claimed_at > _lease():
        return False
    if claim.host == _HOST:
        return pid_alive(claim.pid)
    return True


def _busy(storage: Storage, quarter: str, version: int, claim: Claim) -> str:
    started = datetime.fromtimestamp(claim.claimed_at, UTC).isoformat(timespec="seconds")
    return (
        f"En anden kørsel udgiver version {version} af {quarter} i {storage.url} lige nu "
        f"(maskine {claim.host}, proces {claim.pid}, startet {started}). Kør igen, når den er "
        "færdig; en afbrudt kørsel overtages automatisk, når dens proces er væk eller efter "
        f"{int(_lease())} s. / Another run is publishing version {version} of {quarter} "
        "right now."
    )


def _take(storage: Storage, quarter: str, version: int, fingerprint_: str, now: datetime) -> Claim:
    """Our claim on the version: resumed, new, or taken over from a writer that is gone."""
    claims = _claims(storage, quarter, version)
    top = claims[-1] if claims else None
    if top is not None and top.owner == _OWNER:
        return top  # a retry in the same process resumes its own claim
    if top is not None and _writer_alive(top):
        raise PublishConflict(_busy(storage, quarter, version, top))
    same = top is not None and top.fingerprint == fingerprint_
    claim = Claim(
        generation=top.generation + 1 if top else 1,
        fingerprint=fingerprint_,
        published_at=top.published_at if top is not None and same else _iso(now),
        owner=_OWNER,
        host=_HOST,
        pid=os.getpid(),
        claimed_at=time.time(),
    )
    key = f"{claim_prefix(quarter, version)}/{claim.generation}.json"
    try:
        storage.write(key, claim.to_bytes(), content_type="application/json", create_only=True)
    except AlreadyExists:
        raise PublishConflict(
            _busy(storage, quarter, version, Claim.from_bytes(storage.read(key)))
        ) from None
    return claim


_CLAIM_KEY = re.compile(r"^\.kvartal/claims/(?P<quarter>[^/]+)/v(?P<n>[1-9][0-9]*)/[^/]+$")


def _drop_claims(storage: Storage, quarter: str, up_to: int) -> None:
    """Claims of published versions are spent: removed, so that at rest the recipients'
    location holds only what the contract lists (a kill may leave some; the next run
    removes them)."""
    for key in storage.list(f"{CLAIMS}/{quarter}"):
        m = _CLAIM_KEY.match(key)
        if m and m["quarter"] == quarter and int(m["n"]) <= up_to:
            storage.delete(key)


def _still_ours(storage: Storage, quarter: str, version: int, claim: Claim) -> None:
    claims = _claims(storage, quarter, version)
    if not claims or claims[-1].owner != claim.owner:
        other = claims[-1] if claims else claim
        raise PublishConflict(_busy(storage, quarter, version, other))


# planning and publishing -------------------------------------------------------------------


def plan(storage: Storage, quarter: str, fingerprint_: str, now: datetime | None = None) -> Plan:
    """The version a run would publish and the time its files carry; reads only.

    An unfinished version left by an interrupted run with the same fingerprint keeps that
    run's publication time, so rendering again gives the bytes it already wrote.
    """
    quarter = str(Quarter.parse(quarter))
    latest = latest_version(storage, quarter)
    if latest is not None and latest[1].get("fingerprint") == fingerprint_:
        return Plan(latest[0], True, datetime.fromisoformat(str(latest[1]["published_at"])))
    n = latest[0] + 1 if latest is not None else 1
    claims = _claims(storage, quarter, n)
    if claims and claims[-1].fingerprint == fingerprint_:
        return Plan(n, False, claims[-1].moment())
    return Plan(n, False, _now(now))


def publish(
    storage: Storage,
    quarter: str,
    *,
    fingerprint: str,
    render: Callable[[int, datetime], dict[str, bytes]],
    manifest_extra: dict[str, Any],
    index_renderer: Callable[[list[IndexEntry]], bytes],
    now: datetime | None = None,
) -> PublishResult:
    """Publish the quarter as a new version unless the newest already has this fingerprint.

    `render(n, published_at)` must give the same bytes for the same arguments: a run that
    takes over an interrupted version of the same fingerprint renders it again with the
    original time. The same fingerprint writes nothing, except to finish a copy to
    `<quarter>/` or an `index.html` that an interrupted run left behind (`index_renderer`
    must therefore be a function of its entries alone, no clock). Only a run that is
    still at work on the same version number raises PublishConflict. `now` is the time a
    new version carries (default: the clock), e.g. the one `plan` gave the renderer.
    """
    quarter = str(Quarter.parse(quarter))
    require_conditional_writes(storage)
    written: list[str] = []
    latest = latest_version(storage, quarter)
    if latest is not None and latest[1].get("fingerprint") == fingerprint:
        n, manifest = latest
        manifest_bytes = storage.read(version_key(quarter, n, MANIFEST))
        if _current_manifest(storage, quarter) != manifest_bytes:
            names = [f["name"] for f in manifest.get("files", [])]
            files = {name: storage.read(version_key(quarter, n, name)) for name in names}
            _promote(storage, quarter, n, files, manifest_bytes, written)
        _write_index(storage, index_renderer, written)
        _drop_claims(storage, quarter, n)
        return PublishResult(
            quarter,
            n,
            False,
            _manifest_keys(quarter, n, manifest),
            storage.location(f"{quarter}/report.html"),
            written,
            str(manifest.get("published_at", "")),
        )

    n = latest[0] + 1 if latest is not None else 1
    claims = _claims(storage, quarter, n)
    moment = claims[-1].moment() if claims and claims[-1].fingerprint == fingerprint else _now(now)
    # Rendered and checked before anything is written: bad output leaves no debris.
    files = render(n, moment)
    _check_names(files)
    manifest_bytes = build_manifest(quarter, n, fingerprint, files, manifest_extra, moment)
    claim = _take(storage, quarter, n, fingerprint, moment)
    if claim.moment() != moment:  # another attempt claimed it meanwhile: its time counts
        moment = claim.moment()
        files = render(n, moment)
        _check_names(files)
        manifest_bytes = build_manifest(quarter, n, fingerprint, files, manifest_extra, moment)
    # The claim makes the folder ours: bytes of an abandoned attempt are simply replaced.
    stale = set(_versions(storage, quarter).get(n, set())) - set(files)
    for name in sorted(stale):
        storage.delete(version_key(quarter, n, name))
    for name, data in sorted(files.items()):
        key = version_key(quarter, n, name)
        storage.write(key, data)
        written.append(key)
    _still_ours(storage, quarter, n, claim)
    manifest_key = version_key(quarter, n, MANIFEST)
    try:
        storage.write(manifest_key, manifest_bytes, create_only=True)
    except AlreadyExists as exc:
        raise PublishConflict(_busy(storage, quarter, n, claim)) from exc
    written.append(manifest_key)

    _promote(storage, quarter, n, files, manifest_bytes, written)
    _write_index(storage, index_renderer, written)
    _drop_claims(storage, quarter, n)
    return PublishResult(
        quarter,
        n,
        True,
        [*(version_key(quarter, n, name) for name in sorted(files)), manifest_key],
        storage.location(f"{quarter}/report.html"),
        written,
        _iso(moment),
    )


def _current_manifest(storage: Storage, quarter: str) -> bytes | None:
    try:
        return storage.read(f"{quarter}/{MANIFEST}")
    except FileNotFoundError:
        return None


def _promote(
    storage: Storage,
    quarter: str,
    version: int,
    files: dict[str, bytes],
    manifest_bytes: bytes,
    written: list[str],
) -> None:
    """The copy at `<quarter>/`: manifest away first, files, manifest back last.

    Between the first and the last step there is no `<quarter>/manifest.json`, so no
    reader is told that a file holds bytes it does not hold yet (or any more). A run
    overtaken by a newer version stops before its next write; a write of its that was
    already under way when the newer run copied is found by reading the files back after
    the manifest, and repaired with the manifest taken away again.
    """
    manifest_key = f"{quarter}/{MANIFEST}"

    def newest() -> bool:
        return _published(storage, quarter)[0] == version

    if not newest():
        return
    storage.delete(manifest_key)
    pending = sorted(files)
    for _ in range(_PROMOTE_ATTEMPTS):
        for name in pending:
            if not newest():
                return
            storage.write(f"{quarter}/{name}", files[name])
            written.append(f"{quarter}/{name}")
        if not newest():
            return
        storage.write(manifest_key, manifest_bytes)
        written.append(manifest_key)
        pending = [
            name for name in sorted(files) if not _holds(storage, f"{quarter}/{name}", files[name])
        ]
        if not pending:
            return
        storage.delete(manifest_key)
    raise PublishConflict(
        f"{storage.location(quarter)}: filerne blev ved med at blive overskrevet under "
        "kopieringen; en anden kørsel skriver samme sted. Kør igen, når den er færdig."
    )


def _holds(storage: Storage, key: str, data: bytes) -> bool:
    try:
        return storage.read(key) == data
    except FileNotFoundError:
        return False


def _write_index(
    storage: Storage, index_renderer: Callable[[list[IndexEntry]], bytes], written: list[str]
) -> None:
    from kvartal.history import write_trend

    write_trend(storage, written)  # udvikling.*, from the published versions (CONTRACT §10)
    page = index_renderer(index_entries(storage))
    try:
        if storage.read(INDEX) == page:
            return
    except FileNotFoundError:
        pass
    storage.write(INDEX, page)
    written.append(INDEX)
