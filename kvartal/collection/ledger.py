"""What the collection has done, kept in the review location with create-only writes.

Layout under `<review>/indsamling/<quarter>/`:

- `kontrol/<sha256>/<centre>-<address>.json`: the check's mail about that file content to
  that address was accepted by the mail server;
- `kontrol/<sha256>/done.json`: every mail about that content went out (the content is
  checked; an idle pass looks for nothing else);
- `kontrol/kendte.json`: key -> size, time and sha256 of the files seen, so an idle pass
  hashes only files that changed (a cache: losing it costs one read of each file);
- `paamindelser/<day>/<centre>-<address>.json`, `operatoerer/<address>.json`: reminders.

A record is written right after the mail server accepts, create-only, so two passes at once
cannot both believe they were first, and a retry finds the record. A process killed between
the acceptance and the record (a window of one storage write) mails that one address again
on the next pass: a mail is never lost, and at most that one is doubled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
from datetime import UTC, datetime

from kvartal.quarters import Quarter
from kvartal.storage import AlreadyExists, Storage

ROOT = "indsamling"


def h(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode("utf-8")).hexdigest()[:16]


def _key(quarter: Quarter, *parts: str) -> str:
    return "/".join([ROOT, str(quarter), *parts])


def check_dir(quarter: Quarter) -> str:
    return _key(quarter, "kontrol")


def check_mail_key(quarter: Quarter, sha: str, centre: str, address: str) -> str:
    return _key(quarter, "kontrol", sha, f"{h(centre)}-{h(address)}.json")


def done_key(quarter: Quarter, sha: str) -> str:
    return _key(quarter, "kontrol", sha, "done.json")


def seen_key(quarter: Quarter) -> str:
    return _key(quarter, "kontrol", "kendte.json")


def reminder_key(quarter: Quarter, day: str, centre: str, address: str) -> str:
    return _key(quarter, "paamindelser", day, f"{h(centre)}-{h(address)}.json")


def operators_key(quarter: Quarter, address: str) -> str:
    return _key(quarter, "operatoerer", f"{h(address)}.json")


def checked(review: Storage, quarter: Quarter) -> set[str]:
    """The file contents whose check is complete."""
    out = set()
    for key in review.list(check_dir(quarter) + "/"):
        parts = key.rsplit("/", 2)
        if len(parts) == 3 and parts[2] == "done.json":
            out.add(parts[1])
    return out


def record(review: Storage, key: str, **fields: object) -> None:
    """Create-only: an existing record (another pass's, or our retried write) is kept."""
    body = {**fields, "at": datetime.now(UTC).isoformat(), "host": socket.gethostname()}
    data = (json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    with contextlib.suppress(AlreadyExists):
        review.write(key, data, content_type="application/json", create_only=True)


def read_seen(review: Storage, quarter: Quarter) -> dict[str, tuple[str, str]]:
    try:
        data = json.loads(review.read(seen_key(quarter)).decode("utf-8"))
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return {}
    return {k: (str(v[0]), str(v[1])) for k, v in data.items() if isinstance(v, list)}


def write_seen(review: Storage, quarter: Quarter, seen: dict[str, tuple[str, str]]) -> None:
    data = json.dumps({k: list(v) for k, v in sorted(seen.items())}, ensure_ascii=False)
    review.write(seen_key(quarter), data.encode("utf-8"), content_type="application/json")
