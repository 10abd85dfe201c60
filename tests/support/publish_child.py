"""`python -m tests.support.publish_child <location> <quarter> <fingerprint> <tag>`: one
publication in a process of its own, so the fault harness can SIGKILL it at a write
boundary (KVARTAL_FAULT_KILL_AT) exactly as it would a `kvartal run`, at a fraction of the
cost. The files are small but depend on the version, the tag and the publication time, so a
run that finishes another's version with a different time would be caught."""

from __future__ import annotations

import json
import sys
from datetime import datetime

from kvartal.config import settings
from kvartal.publish import IndexEntry, PublishConflict, publish, this_process
from kvartal.storage import open_storage

NAMES = ("fulfilment.json", "report.html", "report.pdf", "report.xlsx")


def render_for(tag: str):  # type: ignore[no-untyped-def]
    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        stamp = f"{tag} v{n} {published_at.isoformat()}"
        files = {
            name: f"{name}: {stamp}\n".encode() * (200 + 50 * i) for i, name in enumerate(NAMES)
        }
        # fulfilment.json as a report's, so the trend page (udvikling.*) is published too
        target = {"target_id": "1.1-a", "initiative": "1.1", "unit": "antal", "actual": n}
        files["fulfilment.json"] = json.dumps(
            {"version": n, "targets": [target], "tag": stamp * 200}
        ).encode()
        return files

    return render


def index(entries: list[IndexEntry]) -> bytes:
    return json.dumps(
        [[e.quarter, [[v.version, v.published_at] for v in e.versions]] for e in entries]
    ).encode()


def run(location: str, quarter: str, fp: str, tag: str) -> tuple[int, bool]:
    result = publish(
        open_storage(location),
        quarter,
        fingerprint=fp,
        render=render_for(tag),
        manifest_extra={"tag": tag},
        index_renderer=index,
        actor=this_process(settings().publish_lease),
    )
    return result.version, result.created


if __name__ == "__main__":
    try:
        version, created = run(*sys.argv[1:5])
    except PublishConflict as exc:  # as `kvartal run` reports it: the message, exit 1
        print(exc, file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"version": version, "created": created}))
