"""Versioned, idempotent publishing to the recipients' location (CONTRACT §7).

Recipients may read at any moment, and a run may die, stall or be overtaken at any moment,
so the order of writes is the whole design (docs/design.md, "Publishing write order" and
"Fencing a writer that lost its claim"):

1. a create-only *claim* on version n (`.kvartal/claims/<quarter>/v<n>/<generation>.json`)
   says who is writing it, with which fingerprint and since when; it keeps a second run
   from doing the same work, and carries the publication time to a takeover;
2. the version's files go to a folder only this claim uses
   (`.kvartal/staging/<quarter>/v<n>/<generation>-<token>/`);
3. a create-only *decision* (`.kvartal/decided/<quarter>/v<n>.json`) names that folder and
   the manifest: the first decision for n is the only set of bytes version n can ever hold;
4. the decided files are copied to `versions/<n>/`, then its manifest, create-only;
5. the copy at `<quarter>/`: its manifest is deleted first, then the files are replaced,
   then the manifest is written again and the files read back;
6. `index.html`; then the spent claims, decisions and staging folders are removed.

A writer that stalls past the lease and resumes writes only into its own staging folder
and then fails to decide, so it can never change a byte that a manifest names.
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
from kvartal.model import SourceFile
from kvartal.quarters import Quarter, QuarterError
from kvartal.storage import AlreadyExists, Storage, require_conditional_writes
from kvartal.storage.base import pid_alive

MANIFEST = "manifest.json"
INDEX = "index.html"
CORE_FIELDS = ("quarter", "version", "fingerprint", "published_at", "files")

_VERSION_KEY = re.compile(r"^(?P<quarter>[^/]+)/versions/(?P<n>[1-9][0-9]*)/(?P<name>.+)$")


CLAIMS = ".kvartal/claims"
DECIDED = ".kvartal/decided"
STAGING = ".kvartal/staging"
_HOST = socket.gethostname()
_PROMOTE_ATTEMPTS = 3
# seconds a claim holds (KVARTAL_PUBLISH_LEASE's default); an entry point passes the setting
DEFAULT_LEASE = 600.0
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


# Renders `index.html` from every published version, or a dict of every page at the
# publish root (`index.html` and any other page made the same way): a function of its
# entries alone, no clock, so that every run renders the same bytes.
IndexRenderer = Callable[[list["IndexEntry"]], "bytes | dict[str, bytes]"]


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
    return _manifest_bytes(manifest)


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


# How the copy at `<quarter>/` holds a version's file, from the file's name and the version's
# bytes alone (a run that finishes or repairs another's version has nothing else).
AtQuarter = Callable[[str, bytes], bytes]


def copy_at_quarter(
    files: dict[str, bytes], manifest_bytes: bytes, at_quarter: AtQuarter
) -> tuple[dict[str, bytes], bytes]:
    """The files and manifest of the copy at `<quarter>/`: the version's, except where
    `at_quarter` changes a file (a page two folders nearer the publish root leads two
    levels less up to it); the copy's manifest then names the copy's own bytes, so that
    it holds at `<quarter>/` what the version's holds under `versions/<n>/`."""
    copied = {name: at_quarter(name, data) for name, data in files.items()}
    if copied == files:
        return files, manifest_bytes
    manifest = json.loads(manifest_bytes)
    for entry in manifest["files"]:
        data = copied[entry["name"]]
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        entry["size"] = len(data)
    return copied, _manifest_bytes(manifest)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


# who publishes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The run that publishes, with its clock and lease: this process unless told otherwise.

    Passed in rather than read deep down, so that the simulation in tests/sim can run many
    publishers in one process, each with its own identity, on one simulated clock.
    """

    host: str
    pid: int
    owner: str  # unique per process: a retried task resumes its own claim
    clock: Callable[[], float] = time.time
    lease: float = DEFAULT_LEASE  # seconds; the entry point passes KVARTAL_PUBLISH_LEASE

    def lease_seconds(self) -> float:
        return float(self.lease)

    def writer_alive(self, claim: Claim) -> bool:
        """A claim is honoured while its run may still be writing: not after the lease, and
        not after its process died on this machine (a killed run is taken over at once)."""
        if self.clock() - claim.claimed_at > self.lease_seconds():
            return False
        if claim.host == _HOST:
            return pid_alive(claim.pid)
        return True


def this_process(lease: float = DEFAULT_LEASE) -> Actor:
    return Actor(_HOST, os.getpid(), _OWNER, lease=lease)


def _started(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


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


def _busy(storage: Storage, quarter: str, version: int, claim: Claim, actor: Actor) -> str:
    return (
        f"En anden kørsel udgiver version {version} af {quarter} i {storage.url} lige nu "
        f"(maskine {claim.host}, proces {claim.pid}, startet {_started(claim.claimed_at)}). "
        "Kør igen, når den er færdig; en afbrudt kørsel overtages automatisk, når dens proces "
        f"er væk eller efter {int(actor.lease_seconds())} s. / Another run is publishing "
        f"version {version} of {quarter} right now."
    )


def _lost(
    storage: Storage, quarter: str, version: int, ours: Claim, taker: Claim | None, actor: Actor
) -> PublishConflict:
    """The message of a run that was overtaken: it names itself and the run that took over."""
    who = (
        f"kørslen på maskine {taker.host}, proces {taker.pid}, startet {_started(taker.claimed_at)}"
        if taker is not None
        else "en anden kørsel"
    )
    return PublishConflict(
        f"Denne kørsel (maskine {ours.host}, proces {ours.pid}, startet "
        f"{_started(ours.claimed_at)}) mistede sin ret til at udgive version {version} af "
        f"{quarter} i {storage.url}: {who} overtog den, fordi denne kørsel ikke blev færdig "
        f"inden for {int(actor.lease_seconds())} s (KVARTAL_PUBLISH_LEASE). Intet af det, "
        "denne kørsel skrev, er udgivet, og den udgivne version er uændret. Kør igen, hvis "
        f"der stadig mangler noget. / This run lost its claim on version {version} of "
        f"{quarter} to another run; nothing it wrote is published."
    )


def _take(
    storage: Storage,
    quarter: str,
    version: int,
    fingerprint_: str,
    now: datetime,
    actor: Actor,
) -> Claim:
    """Our claim on the version: resumed, new, or taken over from a writer that is gone."""
    claims = _claims(storage, quarter, version)
    top = claims[-1] if claims else None
    if top is not None and top.owner == actor.owner:
        return top  # a retry in the same process resumes its own claim
    if top is not None and actor.writer_alive(top):
        raise PublishConflict(_busy(storage, quarter, version, top, actor))
    same = top is not None and top.fingerprint == fingerprint_
    claim = Claim(
        generation=top.generation + 1 if top else 1,
        fingerprint=fingerprint_,
        published_at=top.published_at if top is not None and same else _iso(now),
        owner=actor.owner,
        host=actor.host,
        pid=actor.pid,
        claimed_at=actor.clock(),
    )
    key = f"{claim_prefix(quarter, version)}/{claim.generation}.json"
    try:
        storage.write(key, claim.to_bytes(), content_type="application/json", create_only=True)
    except AlreadyExists:
        there = Claim.from_bytes(storage.read(key))
        if there.owner == actor.owner:  # an earlier attempt's write that landed late
            return there
        raise PublishConflict(_busy(storage, quarter, version, there, actor)) from None
    return claim


def _still_ours(storage: Storage, quarter: str, version: int, claim: Claim, actor: Actor) -> None:
    """An early way out for a run that was overtaken; the decision is what fences it."""
    claims = _claims(storage, quarter, version)
    if not claims or claims[-1].owner != claim.owner:
        raise _lost(storage, quarter, version, claim, claims[-1] if claims else None, actor)


# decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The one set of bytes version n holds: the claim that staged them, where, and the
    manifest that names them. Written create-only, so the first decision is the only one
    until the version is published (and removed only after that)."""

    claim: Claim
    staging: str  # the folder holding the decided files, relative to the publish root
    manifest: str  # the exact text of `versions/<n>/manifest.json`

    def to_bytes(self) -> bytes:
        d = {"claim": asdict(self.claim), "staging": self.staging, "manifest": self.manifest}
        return (json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Decision:
        d = json.loads(raw)
        return cls(
            Claim.from_bytes(json.dumps(d["claim"]).encode()), str(d["staging"]), d["manifest"]
        )


def decision_key(quarter: str, version: int) -> str:
    return f"{DECIDED}/{quarter}/v{version}.json"


def staging_prefix(quarter: str, version: int, claim: Claim) -> str:
    """A folder no other claim writes: the owner token makes it unique even when two
    machines write the same generation number after the spent claims were removed."""
    token = hashlib.sha256(claim.owner.encode()).hexdigest()[:16]
    return f"{STAGING}/{quarter}/v{version}/{claim.generation}-{token}"


def _read_decision(storage: Storage, quarter: str, version: int) -> Decision | None:
    try:
        return Decision.from_bytes(storage.read(decision_key(quarter, version)))
    except FileNotFoundError:
        return None


_SPENT_KEY = re.compile(
    r"^\.kvartal/(?:claims|staging)/(?P<quarter>[^/]+)/v(?P<n>[1-9][0-9]*)/.+$"
    r"|^\.kvartal/decided/(?P<dq>[^/]+)/v(?P<dn>[1-9][0-9]*)\.json$"
)


def _drop_spent(storage: Storage, quarter: str, up_to: int, actor: Actor) -> None:
    """Claims, decisions and staged files of published versions are spent: removed, so
    that at rest the recipients' location holds only what the contract lists (a kill may
    leave some; the next run removes them). Only versions with a manifest are touched:
    removing the decision of an unpublished version would let a second one be made.

    One exception: the claims of a version whose claim was taken over from a writer that
    may still be alive (stalled, not dead) are kept until it is gone, so that when it
    resumes it can say which run took its version over.
    """
    judged: dict[int, bool] = {}
    for prefix in (CLAIMS, DECIDED, STAGING):
        for key in storage.list(f"{prefix}/{quarter}"):
            m = _SPENT_KEY.match(key)
            if m is None:
                continue
            q, n = (m["quarter"], m["n"]) if m["quarter"] else (m["dq"], m["dn"])
            if q != quarter or int(n) > up_to:
                continue
            if prefix == CLAIMS:
                if int(n) not in judged:
                    judged[int(n)] = _overtaken_alive(storage, q, int(n), actor)
                if judged[int(n)]:
                    continue
            storage.delete(key)
    storage.prune(".kvartal")  # a local folder may keep empty folders


# How long the claims of a version taken over from a writer on another machine are kept
# for it to read when it resumes: a stall longer than a day is a machine that is gone.
_OVERTAKEN_KEPT = 24 * 3600.0


def _overtaken_alive(storage: Storage, quarter: str, version: int, actor: Actor) -> bool:
    """Whether a claim of the version other than the newest belongs to a writer that may
    still resume: a live process of this machine, or another machine's within a day."""
    claims = _claims(storage, quarter, version)
    for claim in claims[:-1]:
        if claim.owner == actor.owner:
            continue
        if claim.host == _HOST:
            if claim.pid != os.getpid() and pid_alive(claim.pid):
                return True
        elif actor.clock() - claim.claimed_at < _OVERTAKEN_KEPT:
            return True
    return False


# planning and publishing -------------------------------------------------------------------


def plan(
    storage: Storage,
    quarter: str,
    fingerprint_: str,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> Plan:
    """The version a run would publish and the time its files carry; reads only.

    An unfinished version left by an interrupted run with the same fingerprint keeps that
    run's publication time, so rendering again gives the bytes it already wrote.
    """
    quarter = str(Quarter.parse(quarter))
    latest = latest_version(storage, quarter)
    if latest is not None and latest[1].get("fingerprint") == fingerprint_:
        return Plan(latest[0], True, datetime.fromisoformat(str(latest[1]["published_at"])))
    n = latest[0] + 1 if latest is not None else 1
    decided = _read_decision(storage, quarter, n)
    if decided is not None:  # n is someone else's already; we come after it
        if decided.claim.fingerprint == fingerprint_:
            return Plan(n, False, decided.claim.moment())
        return Plan(n + 1, False, _now(now))
    claims = _claims(storage, quarter, n)
    if claims and claims[-1].fingerprint == fingerprint_:
        return Plan(n, False, claims[-1].moment())
    return Plan(n, False, _now(now))


# A run finishes at most this many versions decided by others before its own.
_ROUNDS = 4


def publish(
    storage: Storage,
    quarter: str,
    *,
    fingerprint: str,
    render: Callable[[int, datetime], dict[str, bytes]],
    manifest_extra: dict[str, Any],
    index_renderer: IndexRenderer,
    now: datetime | None = None,
    actor: Actor | None = None,
    at_quarter: AtQuarter | None = None,
) -> PublishResult:
    """Publish the quarter as a new version unless the newest already has this fingerprint.

    `render(n, published_at)` must give the same bytes for the same arguments: a run that
    takes over an interrupted version of the same fingerprint renders it again with the
    original time. The same fingerprint writes nothing, except to finish or repair the
    copy at `<quarter>/` or an `index.html` that an interrupted or overtaken run left
    behind (`index_renderer` must therefore be a function of its entries alone, no clock).
    A version another run decided but did not finish is finished first, then ours comes
    after it. PublishConflict: a run still at work on the same version, or this run was
    overtaken. `now` is the time a new version carries (default: the clock), e.g. the one
    `plan` gave the renderer; `actor` is who publishes (default: this process);
    `at_quarter` how the copy at `<quarter>/` differs from the version (default: not at all).
    """
    actor = actor or this_process()
    quarter = str(Quarter.parse(quarter))
    require_conditional_writes(storage)
    written: list[str] = []
    for _ in range(_ROUNDS):
        latest = latest_version(storage, quarter)
        if latest is not None and latest[1].get("fingerprint") == fingerprint:
            return _already(
                storage, quarter, latest[0], latest[1], index_renderer, actor, at_quarter, written
            )
        n = latest[0] + 1 if latest is not None else 1
        decided = _read_decision(storage, quarter, n)
        if decided is not None:
            _finish(storage, quarter, n, decided, None, written)
            continue
        result = _publish_new(
            storage,
            quarter,
            n,
            fingerprint,
            render,
            manifest_extra,
            index_renderer,
            now,
            actor,
            at_quarter,
            written,
        )
        if result is not None:
            return result
    raise PublishConflict(
        f"Andre kørsler blev ved med at udgive nye versioner af {quarter} i {storage.url}, "
        "mens denne kørsel arbejdede. Kør igen, når de er færdige. / Other runs kept "
        f"publishing new versions of {quarter}; run again when they are done."
    )


def _publish_new(
    storage: Storage,
    quarter: str,
    n: int,
    fingerprint: str,
    render: Callable[[int, datetime], dict[str, bytes]],
    manifest_extra: dict[str, Any],
    index_renderer: IndexRenderer,
    now: datetime | None,
    actor: Actor,
    at_quarter: AtQuarter | None,
    written: list[str],
) -> PublishResult | None:
    """Version n with our bytes; None when another run's decision with our fingerprint
    came first and was finished instead (the caller then finds it published)."""
    claims = _claims(storage, quarter, n)
    moment = claims[-1].moment() if claims and claims[-1].fingerprint == fingerprint else _now(now)
    # Rendered and checked before anything is written: bad output leaves no debris.
    files = render(n, moment)
    _check_names(files)
    manifest_bytes = build_manifest(quarter, n, fingerprint, files, manifest_extra, moment)
    claim = _take(storage, quarter, n, fingerprint, moment, actor)
    if claim.moment() != moment:  # another attempt claimed it meanwhile: its time counts
        moment = claim.moment()
        files = render(n, moment)
        _check_names(files)
        manifest_bytes = build_manifest(quarter, n, fingerprint, files, manifest_extra, moment)
    staging = staging_prefix(quarter, n, claim)
    for name, data in sorted(files.items()):
        storage.write(f"{staging}/{name}", data)
        written.append(f"{staging}/{name}")
    _still_ours(storage, quarter, n, claim, actor)
    decision = Decision(claim, staging, manifest_bytes.decode("utf-8"))
    key = decision_key(quarter, n)
    try:
        storage.write(key, decision.to_bytes(), content_type="application/json", create_only=True)
    except AlreadyExists:
        other = _read_decision(storage, quarter, n)
        if other is not None and other.claim.fingerprint == fingerprint:
            _finish(storage, quarter, n, other, None, written)
            return None
        raise _lost(
            storage,
            quarter,
            n,
            claim,
            other.claim if other else _taker(storage, quarter, n, actor),
            actor,
        ) from None
    written.append(key)
    there = _version_manifest(storage, quarter, n)
    if there is not None and there != manifest_bytes:
        # Our decision came after the version's own was spent: n is published by another
        # run, and ours names nothing anyone copies. Removed, as spent.
        storage.delete(key)
        if json.loads(there).get("fingerprint") == fingerprint:
            return None  # published with our inputs all the same: the caller finds it
        raise _lost(storage, quarter, n, claim, _taker(storage, quarter, n, actor), actor)
    _finish(storage, quarter, n, decision, files, written)
    if at_quarter is not None:
        files, manifest_bytes = copy_at_quarter(files, manifest_bytes, at_quarter)
    _promote(storage, quarter, n, files, manifest_bytes, written)
    keys = [version_key(quarter, n, name) for name in [*sorted(files), MANIFEST]]
    return _close(storage, quarter, n, True, keys, _iso(moment), index_renderer, actor, written)


def _version_manifest(storage: Storage, quarter: str, version: int) -> bytes | None:
    try:
        return storage.read(version_key(quarter, version, MANIFEST))
    except FileNotFoundError:
        return None


def _taker(storage: Storage, quarter: str, version: int, actor: Actor) -> Claim | None:
    """The newest claim on the version that is not ours: the run that took it over."""
    others = [c for c in _claims(storage, quarter, version) if c.owner != actor.owner]
    return others[-1] if others else None


def _finish(
    storage: Storage,
    quarter: str,
    version: int,
    decision: Decision,
    files: dict[str, bytes] | None,
    written: list[str],
) -> None:
    """Copy the decided files to `versions/<n>/`, then its manifest, create-only.

    Nothing but the decided bytes is ever written under `versions/<n>/` (there is one
    decision per version until it is published), so these writes cannot change a byte
    its manifest names: at most they meet the same bytes again, or replace debris that an
    older kvartal left in an unfinished version. `files`: the decided bytes when
    we are the run that staged them; otherwise they are read from the staging folder and
    checked against the decided manifest.
    """
    manifest = json.loads(decision.manifest)
    entries = {f["name"]: f["sha256"] for f in manifest["files"]}
    if files is None:
        files = {}
        for name, digest in sorted(entries.items()):
            try:
                data = storage.read(f"{decision.staging}/{name}")
            except FileNotFoundError:
                if storage.exists(version_key(quarter, version, MANIFEST)):
                    return  # published meanwhile; its staged files are spent
                raise
            if hashlib.sha256(data).hexdigest() != digest:
                raise PublishConflict(
                    f"{storage.location(decision.staging)}/{name} holder ikke de bytes, som "
                    f"beslutningen om version {version} af {quarter} nævner. Kør igen. / A "
                    "staged file does not hold the decided bytes."
                )
            files[name] = data
    foreign = set(_versions(storage, quarter).get(version, set())) - set(entries) - {MANIFEST}
    for name in sorted(foreign):
        storage.delete(version_key(quarter, version, name))
    for name in sorted(entries):
        key = version_key(quarter, version, name)
        try:  # create-only: the same bytes already there are not written again
            storage.write(key, files[name], create_only=True)
        except AlreadyExists:  # debris of an older kvartal; nothing can name it
            storage.write(key, files[name])
        written.append(key)
    manifest_key = version_key(quarter, version, MANIFEST)
    try:
        storage.write(manifest_key, decision.manifest.encode("utf-8"), create_only=True)
    except AlreadyExists as exc:  # cannot happen under this protocol: say so loudly
        raise PublishConflict(
            f"{storage.location(manifest_key)} findes allerede med andet indhold end "
            f"beslutningen om version {version}. / The manifest differs from the decision."
        ) from exc
    written.append(manifest_key)


def _already(
    storage: Storage,
    quarter: str,
    n: int,
    manifest: dict[str, Any],
    index_renderer: IndexRenderer,
    actor: Actor,
    at_quarter: AtQuarter | None,
    written: list[str],
) -> PublishResult:
    """Nothing to publish; what readers see at `<quarter>/` is checked file by file
    against the manifest (a late write of an overtaken run may have landed there) and
    repaired, as are a missing copy and a stale index."""
    manifest_bytes = storage.read(version_key(quarter, n, MANIFEST))
    names = [f["name"] for f in manifest.get("files", [])]
    files: dict[str, bytes] | None = None
    copy = manifest
    if at_quarter is not None:  # the copy's bytes follow from the version's
        files = {name: storage.read(version_key(quarter, n, name)) for name in names}
        files, manifest_bytes = copy_at_quarter(files, manifest_bytes, at_quarter)
        copy = json.loads(manifest_bytes)
    if _current_manifest(storage, quarter) != manifest_bytes or not _copy_intact(
        storage, quarter, copy
    ):
        if files is None:
            files = {name: storage.read(version_key(quarter, n, name)) for name in names}
        _promote(storage, quarter, n, files, manifest_bytes, written)
    keys = _manifest_keys(quarter, n, manifest)
    moment = str(manifest.get("published_at", ""))
    return _close(storage, quarter, n, False, keys, moment, index_renderer, actor, written)


def _close(
    storage: Storage,
    quarter: str,
    n: int,
    created: bool,
    keys: list[str],
    published_at: str,
    index_renderer: IndexRenderer,
    actor: Actor,
    written: list[str],
) -> PublishResult:
    """The last steps of every publication, new or already there: the index, then the
    spent claims, decisions and staged files."""
    _write_index(storage, index_renderer, written)
    _drop_spent(storage, quarter, n, actor)
    location = storage.location(f"{quarter}/report.html")
    return PublishResult(quarter, n, created, keys, location, written, published_at)


def _copy_intact(storage: Storage, quarter: str, manifest: dict[str, Any]) -> bool:
    for entry in manifest.get("files", []):
        try:
            data = storage.read(f"{quarter}/{entry['name']}")
        except FileNotFoundError:
            return False
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return False
    return True


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


def _write_index(storage: Storage, index_renderer: IndexRenderer, written: list[str]) -> None:
    """The pages at the publish root, each written only when it differs: a page rendered
    from the manifests alone is the same for every run that sees the same versions."""
    from kvartal.history import write_trend

    write_trend(storage, written)  # udvikling.*, from the published versions (CONTRACT §10)
    rendered = index_renderer(index_entries(storage))
    pages = {INDEX: rendered} if isinstance(rendered, bytes) else rendered
    for name, page in sorted(pages.items()):
        if "/" in name or name in ("", ".", "..") or name.startswith(".kvartal"):
            raise ValueError(f"{name!r} cannot be published as a page at the publish root")
        try:
            if storage.read(name) == page:
                continue
        except FileNotFoundError:
            pass
        storage.write(name, page)
        written.append(name)
