"""`changes.json` (CONTRACT §10): what version n of a quarter changed since version n−1.

Version n−1 is read from the recipients' location (its manifest and its `fulfilment.json`,
checked against the manifest's sha256), never recomputed: a run that takes over a killed
version, or one that runs months later, compares with what readers actually had. The same
document gives the report's first-page section and the lines of the recipients' mail, so the
three cannot tell different stories.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kvartal.storage import Storage

CHANGES = "changes.json"
FULFILMENT = "fulfilment.json"
MANIFEST = "manifest.json"

# How a field of fulfilment.json is named to a reader, and how its value is said.
FIELD_WORDS = {
    "actual": "faktisk",
    "expected_to_date": "forventet til dato",
    "fulfilment": "opfyldelse",
    "pace": "tempo",
    "forecast": "prognose",
    "status": "status",
    "target": "målværdi",
    "target_max": "målværdi maks.",
    "elapsed": "forløbne kvartaler",
    "window": "periode",
    "direction": "retning",
    "unit": "enhed",
    "metric": "nøgletal",
    "initiative": "indsats",
    "above_range": "over intervallet",
    "approximate": "cirkatal",
    "due": "frist",
    "reached": "nået",
    "reached_undated": "nået uden dato",
    "late": "nået efter fristen",
}
RATIOS = ("fulfilment", "pace")


class HistoryError(RuntimeError):
    """A published version cannot be read as published; nothing is guessed."""


@dataclass(frozen=True)
class Previous:
    """Version n−1 as published: its manifest and its fulfilment.json."""

    version: int
    manifest: dict[str, Any]
    fulfilment: dict[str, Any]


def _verified(storage: Storage, key: str, manifest: Mapping[str, Any], name: str) -> bytes:
    data = storage.read(key)
    entry = next((f for f in manifest.get("files", []) if f.get("name") == name), None)
    if entry is None or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise HistoryError(
            f"{storage.location(key)} stemmer ikke med sit manifest; den udgivne version kan "
            "ikke sammenlignes. Kontrollér udgivelsesstedet (filen må ikke ændres efter "
            "udgivelsen)."
        )
    return data


def previous_version(storage: Storage, quarter: str, version: int) -> Previous | None:
    """Version `version − 1` as published, or None for version 1 (it changed nothing)."""
    if version < 2:
        return None
    n = version - 1
    base = f"{quarter}/versions/{n}"
    try:
        manifest = json.loads(storage.read(f"{base}/{MANIFEST}"))
    except FileNotFoundError:
        raise HistoryError(
            f"Version {n} af {quarter} er ikke udgivet i {storage.location(base)}, så version "
            f"{version} kan ikke sammenlignes med den. Kør kvartalet igen."
        ) from None
    fulfilment = json.loads(_verified(storage, f"{base}/{FULFILMENT}", manifest, FULFILMENT))
    return Previous(n, manifest, fulfilment)


def _targets(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(t["target_id"]): t
        for t in doc.get("targets", [])
        if isinstance(t, dict) and "target_id" in t
    }


def _target_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every (target, field) whose value differs; a target on one side only lists each of
    its fields against null. In the newer version's order, then the targets it dropped."""
    old, new = _targets(before), _targets(after)
    out: list[dict[str, Any]] = []
    order = [*new, *(tid for tid in old if tid not in new)]
    for tid in order:
        a, b = old.get(tid, {}), new.get(tid, {})
        fields = [*b, *(f for f in a if f not in b)]
        for name in fields:
            if name == "target_id":
                continue
            if a.get(name) != b.get(name) or (name in a) != (name in b):
                out.append(
                    {"target_id": tid, "field": name, "before": a.get(name), "after": b.get(name)}
                )
    return out


def _source_changes(
    before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    old = {str(s["path"]): str(s["sha256"]) for s in before}
    new = {str(s["path"]): str(s["sha256"]) for s in after}
    return [
        {"file": path, "before": old.get(path), "after": new.get(path)}
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]


_WAIVER_FIELDS = ("file", "cell", "rule", "reason", "approved_by")


def _waivers(items: Iterable[Mapping[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """A waiver is the operator's row (one row may waive several problems at a cell)."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for w in items:
        row = {k: w.get(k) for k in _WAIVER_FIELDS}
        found.setdefault(tuple(str(v) for v in row.values()), row)
    return found


def changes_doc(
    quarter: str,
    version: int,
    previous: Previous,
    fulfilment: bytes,
    sources: Iterable[Mapping[str, Any]],
    waivers: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """§10's document: version `version` (its fulfilment.json bytes, the sources and the
    waivers its manifest names) against the published `previous`."""
    old_w = _waivers(previous.manifest.get("waivers", []))
    new_w = _waivers(waivers)
    return {
        "quarter": quarter,
        "version": version,
        "since": previous.version,
        "targets": _target_changes(previous.fulfilment, json.loads(fulfilment)),
        "sources": _source_changes(previous.manifest.get("sources", []), sources),
        "waivers": {
            "added": [new_w[k] for k in sorted(set(new_w) - set(old_w))],
            "removed": [old_w[k] for k in sorted(set(old_w) - set(new_w))],
        },
    }


def changes_json(doc: Mapping[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


def _value(name: str, value: Any, decimals: int = 1) -> str:
    from kvartal.report import danish

    if value is None:
        return "ingen"
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if name == "status":
        return danish.status_word(str(value))
    if isinstance(value, int | float):
        if name in RATIOS:
            return danish.percent(float(value))
        return danish.number(float(value), decimals)
    if isinstance(value, list):
        return "–".join(str(v) for v in value)
    return str(value)


def _before_after(change: Mapping[str, Any]) -> str:
    """`94,7 → 98,7`, rounded as the report shows numbers; with more decimals only where
    that rounding would make a real change read as none."""
    field, before, after = change["field"], change["before"], change["after"]
    for decimals in (1, 2, 3, 4):
        old, new = _value(field, before, decimals), _value(field, after, decimals)
        if old != new:
            break
    return f"{old} → {new}"


def change_lines(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """The changes in Danish, by kind: `targets`, `sources`, `waivers`; one line each."""
    targets = [
        f"Mål {c['target_id']}: {FIELD_WORDS.get(c['field'], c['field'])} {_before_after(c)}"
        for c in doc.get("targets", [])
    ]
    sources = []
    for s in doc.get("sources", []):
        if s["before"] is None:
            sources.append(f"{s['file']}: ny fil")
        elif s["after"] is None:
            sources.append(f"{s['file']}: fjernet")
        else:
            sources.append(f"{s['file']}: ændret")
    waivers = []
    for kind, word in (("added", "tilføjet"), ("removed", "fjernet")):
        for w in doc.get("waivers", {}).get(kind, []):
            where = ", ".join(str(w[k]) for k in ("file", "cell", "rule") if w.get(k))
            waivers.append(
                f"Afvigelse {word}: {where} (begrundelse: {w.get('reason')}; "
                f"godkendt af {w.get('approved_by')})"
            )
    return {"targets": targets, "sources": sources, "waivers": waivers}


def published_change_lines(storage: Storage, quarter: str, version: int) -> list[str]:
    """The lines of a published version's changes.json for the recipients' mail: what
    changed since the version before, as the report's first page says it. Version 1 (or a
    version without the file) has none."""
    if version < 2:
        return []
    key = f"{quarter}/versions/{version}/{CHANGES}"
    try:
        doc = json.loads(storage.read(key))
    except FileNotFoundError:
        return []
    lines = change_lines(doc)
    out = [f"Ændret siden version {doc.get('since', version - 1)}:"]
    if not any(lines.values()):
        out.append("  Ingen tal er ændret.")
    for kind in ("targets", "sources", "waivers"):
        out += [f"  - {line}" for line in lines[kind]]
    return out
