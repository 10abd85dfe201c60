"""What a recipient may rely on at any instant (CONTRACT §7), checked from outside.

Used by the fault harness after every kill and by the readers that poll during runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from kvartal.storage import Storage

_VERSION = re.compile(r"^[^/]+/versions/([1-9][0-9]*)/")


def folders(storage: Storage, quarter: str) -> list[str]:
    """`<quarter>` and every `<quarter>/versions/<n>` with any key in it."""
    numbers = sorted(
        {int(m[1]) for k in storage.list(f"{quarter}/versions") if (m := _VERSION.match(k))}
    )
    return [quarter, *(f"{quarter}/versions/{n}" for n in numbers)]


def manifest_violations(storage: Storage, folder: str) -> list[str]:
    """Files named by `<folder>/manifest.json` that are missing or hold other bytes
    (folder "": the root's manifest.json, which names udvikling.*)."""
    prefix = f"{folder}/" if folder else ""
    try:
        raw = storage.read(f"{prefix}manifest.json")
    except FileNotFoundError:
        return []
    out = []
    for entry in json.loads(raw)["files"]:
        key = f"{prefix}{entry['name']}"
        try:
            data = storage.read(key)
        except FileNotFoundError:
            out.append(f"{key}: named by the manifest, missing")
            continue
        if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data) != entry["size"]:
            out.append(f"{key}: other bytes than the manifest says")
    return out


def copy_holds(storage: Storage, quarter: str, version: int) -> bool:
    """Whether the copy at `<quarter>/` is version `version`, whole: its manifest says what
    the version's says (number, time, sources, waivers, the same files), and each file
    holds what the copy's manifest names (the report's page there has its own links, so
    its bytes are the copy's, not the version's)."""
    try:
        copy = json.loads(storage.read(f"{quarter}/manifest.json"))
        own = json.loads(storage.read(f"{quarter}/versions/{version}/manifest.json"))
    except FileNotFoundError:
        return False

    def rest(m: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in m.items() if k != "files"}

    def names(m: dict[str, Any]) -> list[str]:
        return [f["name"] for f in m["files"]]

    return (
        rest(copy) == rest(own)
        and names(copy) == names(own)
        and manifest_violations(storage, quarter) == []
    )


def violations(storage: Storage, quarter: str) -> list[str]:
    return [v for folder in folders(storage, quarter) for v in manifest_violations(storage, folder)]


def local_debris(root: Path) -> list[str]:
    """Temporary files anywhere under a local publish folder."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and (".kvartal-tmp" in p.parts or p.name.startswith(".tmp-"))
    )
