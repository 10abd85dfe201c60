"""The trend page at its intended size: 12 published quarters × 60 targets (CONTRACT §10).

Publishes 12 quarters (2009Q1–2011Q4) of 60 targets each into a fresh local folder, each
version's fulfilment.json shaped as a report's (counts, percentages, intervals, a few
milestones and targets without figures), then times the rebuild of udvikling.json/.html
with the root manifest (what a publication adds after its manifest) and reports the sizes.
The goals are ≤ 1 MB for udvikling.html and ≤ 2 s to build.

    python bench/history.py [--quarters 12] [--targets 60] [--repeat 3]

One JSON line: import time of the chart library, each build's seconds (wall clock and this
process's CPU, which a busy machine inflates less), the load average, the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def target(k: int, i: int, quarter: str) -> dict[str, Any]:
    """Target k in quarter number i (0-based) of a 4-quarter window repeated each year."""
    kind = k % 6
    elapsed = i % 4 + 1
    base: dict[str, Any] = {
        "target_id": f"{k // 3 + 1}.{k % 3 + 1}-a",
        "initiative": f"{k // 3 + 1}.{k % 3 + 1}",
        "metric": f"nøgletal_{k}",
        "window": [quarter, quarter],
        "elapsed": elapsed,
        "above_range": False,
        "approximate": False,
    }
    if kind == 5:  # a milestone
        return {
            **base,
            "metric": None,
            "unit": "milepæl",
            "direction": None,
            "target": None,
            "target_max": None,
            "actual": None,
            "expected_to_date": None,
            "fulfilment": None,
            "pace": None,
            "forecast": None,
            "status": "achieved" if i % 4 == 3 else "on_track",
            "due": "2011-12-31",
            "reached": "2011-11-15" if i % 4 == 3 else None,
        }
    unit = "pct." if kind in (1, 3) else "antal"
    goal = 90 if unit == "pct." else 100 + 37 * k
    expected = goal if unit == "pct." else goal * elapsed / 4
    actual = None if kind == 4 and i % 5 == 0 else round(expected * (0.75 + 0.05 * (k % 6)), 1)
    return {
        **base,
        "unit": unit,
        "direction": "interval" if kind == 2 else "mindst",
        "target": goal,
        "target_max": goal * 1.2 if kind == 2 else None,
        "actual": actual,
        "expected_to_date": expected,
        "fulfilment": None if actual is None else round(actual / goal, 4),
        "pace": None if actual is None else round(actual / expected, 4),
        "forecast": None,
        "status": "no_data" if actual is None else "on_track",
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quarters", type=int, default=12)
    p.add_argument("--targets", type=int, default=60)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    from kvartal.history import TREND_HTML, TREND_JSON, TREND_MANIFEST, write_trend
    from kvartal.publish import publish
    from kvartal.quarters import Quarter
    from kvartal.storage import open_storage

    start = time.perf_counter()
    import matplotlib.figure  # noqa: F401  (the chart library's import, timed apart)

    imported = time.perf_counter() - start
    root = Path(tempfile.mkdtemp(prefix="kvartal-bench-history-"))
    storage = open_storage(str(root))
    quarters = Quarter(2009, 1).until(Quarter(2009, 1) + (args.quarters - 1))
    for i, q in enumerate(quarters):
        doc = {
            "quarter": str(q),
            "version": 1,
            "targets": [target(k, i, str(q)) for k in range(args.targets)],
        }
        data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
        publish(
            storage,
            str(q),
            fingerprint=f"bench-{q}",
            render=lambda n, at, data=data: {"fulfilment.json": data},
            manifest_extra={},
            index_renderer=lambda entries: b"",
            now=datetime(2012, 1, 15, tzinfo=UTC),
        )
    builds, cpu = [], []
    for _ in range(args.repeat):
        (root / TREND_MANIFEST).unlink()
        t, c = time.perf_counter(), time.process_time()
        write_trend(storage)
        builds.append(round(time.perf_counter() - t, 3))
        cpu.append(round(time.process_time() - c, 3))
    t = time.perf_counter()
    unchanged = write_trend(storage)
    skip = round(time.perf_counter() - t, 3)
    print(
        json.dumps(
            {
                "quarters": args.quarters,
                "targets": args.targets,
                "matplotlib_import_s": round(imported, 3),
                "build_s": builds,
                "build_cpu_s": cpu,
                "load_average": [round(x, 1) for x in os.getloadavg()],
                "unchanged_check_s": skip,
                "rewritten_when_unchanged": unchanged,
                "udvikling_html_bytes": (root / TREND_HTML).stat().st_size,
                "udvikling_json_bytes": (root / TREND_JSON).stat().st_size,
                "charts": (root / TREND_HTML).read_text("utf-8").count("<svg "),
                "folder": str(root),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
