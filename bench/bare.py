"""The quarterly run without Prefect: the same reads, checks, arithmetic and writes.

It is the benchmark's measure of what the work itself costs, so the difference to a
`kvartal run` is what Prefect (server start, task and flow bookkeeping) adds. It runs the
flow's own stages (`kvartal.pipeline.run_quarter`: review files, row accounting and the
history read from the publish location included; no approval and no mail) and prints one
JSON line of stage timings (seconds since the interpreter started) for bench.py.

    python bench/bare.py --inbox examples/inbox --quarter 2009Q3 --publish-to DIR --review-to DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--inbox", required=True)
    p.add_argument("--quarter", default="2009Q3")
    p.add_argument("--publish-to", required=True)
    p.add_argument("--review-to", required=True)
    args = p.parse_args()
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks[name] = round(time.perf_counter() - T0, 3)

    from kvartal.config import RunSettings, settings
    from kvartal.links import ReviewLinks
    from kvartal.pipeline import run_quarter
    from kvartal.quarters import Quarter
    from kvartal.storage import open_storage

    mark("imports")

    cfg = settings()
    done = run_quarter(
        open_storage(args.inbox),
        open_storage(args.review_to),
        open_storage(args.publish_to),
        Quarter.parse(args.quarter),
        RunSettings.from_env(),
        timezone=cfg.timezone,
        limits=cfg.read_limits(),
        lease=cfg.publish_lease,
        collection=cfg.collection(),
        links=ReviewLinks.of(cfg),
        mark=mark,
    )
    if done.published is None:
        blocking = len(done.checked.validation.blocking)
        print(json.dumps({"error": f"{blocking} fejl", "marks": marks}))
        return 2
    print(json.dumps({"version": done.published.version, "marks": marks}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
