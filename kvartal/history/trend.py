"""`udvikling.json` and `udvikling.html` at the recipients' root (CONTRACT §10).

Built from what was published, each quarter's newest version (a version exists once its
manifest does, so a version still being written is never shown), and rewritten after a
quarter's manifest, as `index.html` is. Like a quarter's copy, the two files are named with
their sha256 by the root's own `manifest.json`, which is deleted before they change and
written after them: a reader never meets a manifest naming bytes that are not there, and the
root manifest also says which version of each quarter the trend shows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import kvartal
from kvartal.history.changes import FULFILMENT, MANIFEST, HistoryError, _verified
from kvartal.quarters import Quarter, QuarterError

if TYPE_CHECKING:
    from kvartal.storage import Storage

TREND_JSON = "udvikling.json"
TREND_HTML = "udvikling.html"
TREND_MANIFEST = MANIFEST  # the root's manifest.json names the trend files
_VERSION_MANIFEST = re.compile(r"^(?P<quarter>[^/]+)/versions/(?P<n>[1-9][0-9]*)/manifest\.json$")
_ATTEMPTS = 3
# The values of a quarter's fulfilment.json that the course shows.
FIELDS = ("actual", "expected_to_date", "target", "target_max", "fulfilment", "status")


@dataclass(frozen=True)
class PublishedQuarter:
    """A quarter's newest published version: its manifest's sha256 and its targets."""

    quarter: str
    version: int
    manifest_sha256: str
    targets: list[dict[str, Any]]


def anchor(target_id: str) -> str:
    """The trend page's id for a target, the same from every report that links to it."""
    safe = "".join(
        c if c.isascii() and (c.isalnum() or c in "-_") else f"_{ord(c):x}_"
        for c in target_id.strip().lower()
    )
    return f"mal-{safe}"


def _newest(storage: Storage) -> dict[Quarter, int]:
    newest: dict[Quarter, int] = {}
    for key in storage.list():
        m = _VERSION_MANIFEST.match(key)
        if not m:
            continue
        try:
            q = Quarter.parse(m["quarter"])
        except QuarterError:
            continue  # not a quarter folder of ours
        if str(q) != m["quarter"]:
            continue
        newest[q] = max(newest.get(q, 0), int(m["n"]))
    return newest


def published_quarters(storage: Storage) -> list[PublishedQuarter]:
    """Every quarter with a published version that has a fulfilment.json, oldest first,
    each as its newest version published it."""
    out = []
    for q, n in sorted(_newest(storage).items()):
        base = f"{q}/versions/{n}"
        raw = storage.read(f"{base}/{MANIFEST}")
        manifest = json.loads(raw)
        if not any(f.get("name") == FULFILMENT for f in manifest.get("files", [])):
            continue
        data = _verified(storage, f"{base}/{FULFILMENT}", manifest, FULFILMENT)
        try:
            doc = json.loads(data)
        except ValueError:
            raise HistoryError(
                f"{storage.location(base + '/' + FULFILMENT)} er ikke JSON; udviklingssiden "
                "kan ikke vise kvartalet."
            ) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list):
            continue  # not a report's figures (no target list): nothing to show over time
        targets = [t for t in doc["targets"] if isinstance(t, dict) and "target_id" in t]
        out.append(PublishedQuarter(str(q), n, hashlib.sha256(raw).hexdigest(), targets))
    return out


def trend_doc(quarters: list[PublishedQuarter]) -> dict[str, Any]:
    """§10's document: every target, each published quarter whose fulfilment.json lists it.

    Targets come in the newest quarter's (catalogue) order, then those only older quarters
    list, newest first; a target's description comes from its newest quarter.
    """
    by_target: dict[str, dict[str, Any]] = {}
    for pq in reversed(quarters):
        for t in pq.targets:
            tid = str(t["target_id"])
            if tid not in by_target:
                by_target[tid] = {
                    "target_id": tid,
                    "initiative": t.get("initiative"),
                    "metric": t.get("metric"),
                    "unit": t.get("unit"),
                    "direction": t.get("direction"),
                    "quarters": [],
                }
    for pq in quarters:
        for t in pq.targets:
            entry = {"quarter": pq.quarter, "version": pq.version}
            entry.update({name: t.get(name) for name in FIELDS})
            if t.get("unit") == "milepæl":
                entry["due"] = t.get("due")
                entry["reached"] = t.get("reached")
            by_target[str(t["target_id"])]["quarters"].append(entry)
    return {"targets": list(by_target.values())}


def trend_json(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


def root_manifest(quarters: list[PublishedQuarter], files: dict[str, bytes]) -> bytes:
    doc = {
        "kvartal_version": kvartal.__version__,
        "quarters": [
            {"quarter": pq.quarter, "version": pq.version, "manifest_sha256": pq.manifest_sha256}
            for pq in quarters
        ],
        "files": [
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        ],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _current(storage: Storage, quarters: list[PublishedQuarter]) -> bool:
    """The root manifest already shows these versions with this kvartal, and its files hold
    its bytes: nothing to draw again (a second run of the same inputs writes nothing)."""
    try:
        manifest = json.loads(storage.read(TREND_MANIFEST))
    except FileNotFoundError:
        return False
    wanted = json.loads(root_manifest(quarters, {}))
    if {k: manifest.get(k) for k in ("kvartal_version", "quarters")} != {
        k: wanted[k] for k in ("kvartal_version", "quarters")
    }:
        return False
    return _holds(storage, manifest)


def _holds(storage: Storage, manifest: dict[str, Any]) -> bool:
    names = {f.get("name") for f in manifest.get("files", [])}
    if names != {TREND_JSON, TREND_HTML}:
        return False
    for f in manifest["files"]:
        try:
            data = storage.read(f["name"])
        except FileNotFoundError:
            return False
        if hashlib.sha256(data).hexdigest() != f["sha256"]:
            return False
    return True


def render_trend(quarters: list[PublishedQuarter]) -> dict[str, bytes]:
    from kvartal.history.page import trend_html

    doc = trend_doc(quarters)
    return {TREND_JSON: trend_json(doc), TREND_HTML: trend_html(doc)}


def write_trend(storage: Storage, written: list[str] | None = None) -> bool:
    """Bring udvikling.* and the root manifest up to what is published; True if written.

    The manifest goes first and comes back last; the files are read back after it, and a
    write of another publisher that landed meanwhile (another quarter published at the same
    moment) takes the manifest away again and draws anew from what is published then.
    """
    written = [] if written is None else written
    for _ in range(_ATTEMPTS):
        quarters = published_quarters(storage)
        if not quarters or _current(storage, quarters):
            return False
        files = render_trend(quarters)
        manifest = root_manifest(quarters, files)
        storage.delete(TREND_MANIFEST)
        for name in (TREND_JSON, TREND_HTML):
            ctype = "application/json" if name.endswith(".json") else "text/html; charset=utf-8"
            storage.write(name, files[name], content_type=ctype)
            written.append(name)
        storage.write(TREND_MANIFEST, manifest, content_type="application/json")
        written.append(TREND_MANIFEST)
        if _holds(storage, json.loads(manifest)):
            return True
        storage.delete(TREND_MANIFEST)
    raise HistoryError(
        f"{storage.location(TREND_HTML)}: udviklingssiden blev ved med at blive overskrevet; "
        "en anden kørsel skriver samme sted. Kør igen, når den er færdig."
    )
