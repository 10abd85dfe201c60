"""The quarter's files as the storage knows them: key, size, and modification time.

The modification time is the delivery time (CONTRACT §9): a folder's mtime, S3's
`LastModified`. Both faces are asked in one pass (one stat per file, or one listing
request per thousand keys), because the centres' check lists the inbox every few minutes.

An inbox copied from elsewhere loses its times (git keeps none, nor does a plain copy).
`<inbox>/.afleveringstider.json` may then name the delivery time of a file content:
`{"2009Q3/BIF Stab.csv": {"sha256": "…", "afleveret": "2009-10-07T10:12:00+02:00"}}`. It
counts only while the file holds exactly that content, so a corrected file gets its own
time again. The example inbox carries one, so a fresh clone shows its true picture.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime

from kvartal.quarters import Quarter, QuarterError
from kvartal.storage import Storage

TIMES_FILE = ".afleveringstider.json"
WAIVER_FILE = "afvigelser.csv"


@dataclass(frozen=True)
class Entry:
    key: str  # inbox-relative, with `/`
    size: int
    modified: datetime  # aware, UTC

    @property
    def stamp(self) -> str:
        """What tells a changed file from an unchanged one without reading it."""
        return f"{self.size}:{self.modified.timestamp():.6f}"


def _ignored(key: str) -> bool:
    return any(part.startswith(("~$", ".")) for part in key.split("/"))


def is_quarter_folder(name: str, quarter: Quarter) -> bool:
    """`2009Q3`, `2009q3`, `2009 Q3`, `2009-Q3`, `2009K3` all name 2009Q3 (CONTRACT §1): the
    one reading of a folder's name, `Quarter.parse`, as the quarterly run's gather has it."""
    try:
        return Quarter.parse(name) == quarter
    except QuarterError:
        return False


def quarter_entries(inbox: Storage, quarter: Quarter) -> list[Entry]:
    """Every file a centre may have delivered for `quarter` (sub-folders included)."""
    out = []
    for e in _entries(inbox):
        top, _, rest = e.key.partition("/")
        if not rest or _ignored(e.key) or not is_quarter_folder(top, quarter):
            continue
        if posixpath.basename(e.key).lower() == WAIVER_FILE:
            continue  # the operators' waivers, never a centre's figures
        out.append(e)
    return sorted(out, key=lambda e: e.key)


def _entries(inbox: Storage) -> list[Entry]:
    client = getattr(inbox, "client", None)
    if client is not None and hasattr(inbox, "bucket"):
        return _s3_entries(inbox)
    root = getattr(inbox, "root", None)
    if root is None:
        raise TypeError(f"{inbox.url}: lageret kan ikke sige, hvornår en fil er afleveret")
    out = []
    for key in inbox.list(""):
        try:
            st = os.stat(os.path.join(root, key))
        except FileNotFoundError:
            continue  # removed while listing
        out.append(Entry(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
    return out


def _s3_entries(inbox: Storage) -> list[Entry]:
    bucket: str = inbox.bucket  # type: ignore[attr-defined]
    prefix: str = inbox.prefix  # type: ignore[attr-defined]
    s3_prefix = f"{prefix}/" if prefix else ""
    out = []
    paginator = inbox.client.get_paginator("list_objects_v2")  # type: ignore[attr-defined]
    for page in paginator.paginate(Bucket=bucket, Prefix=s3_prefix):
        for obj in page.get("Contents", []):
            name = obj["Key"]
            if name.endswith("/"):
                continue
            key = name[len(s3_prefix) :]
            modified = obj["LastModified"]
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            out.append(Entry(key, int(obj["Size"]), modified.astimezone(UTC)))
    return out


def recorded_times(inbox: Storage) -> dict[str, tuple[str, datetime]]:
    """`.afleveringstider.json`: key -> (sha256, delivery time); empty when absent."""
    try:
        data = json.loads(inbox.read(TIMES_FILE).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{TIMES_FILE} i indbakken kan ikke læses som JSON ({exc}); ret eller slet filen."
        ) from None
    out = {}
    for key, item in data.items():
        when = datetime.fromisoformat(item["afleveret"])
        out[key] = (str(item["sha256"]), when.astimezone(UTC))
    return out
