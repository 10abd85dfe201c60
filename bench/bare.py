"""The quarterly run without Prefect: the same reads, checks, arithmetic and writes.

It is the benchmark's measure of what the work itself costs, so the difference to a
`kvartal run` is what Prefect (server start, task and flow bookkeeping) adds. It calls the
same plain functions the flow's tasks wrap, in the same order, against local folders, and
prints one JSON line of stage timings (seconds since the interpreter started) for
bench.py.

    python bench/bare.py --inbox examples/inbox --quarter 2009Q3 --publish-to DIR --review-to DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
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

    from datetime import date

    from kvartal.config import RunSettings
    from kvartal.config import settings as read_settings
    from kvartal.fulfilment import evaluate
    from kvartal.gather import gather
    from kvartal.publish import fingerprint, publish
    from kvartal.quarters import Quarter
    from kvartal.records import parse_figures, parse_targets
    from kvartal.report import IndexQuarter, IndexVersion, ReportInput, render_all, render_index
    from kvartal.review import frames_of, write_review
    from kvartal.storage import open_storage
    from kvartal.validation import validate

    mark("imports")

    quarter = Quarter.parse(args.quarter)
    settings = RunSettings.from_env()
    inputs = gather(open_storage(args.inbox), quarter, read_settings().read_limits())
    mark("gather")
    frames = frames_of(inputs)
    result = validate(quarter, frames.catalogue, frames.figures, frames.waivers, inputs.problems)
    write_review(open_storage(args.review_to), quarter, result)
    mark("validate")
    if result.blocking:
        print(json.dumps({"error": f"{len(result.blocking)} fejl", "marks": marks}))
        return 2

    targets = parse_targets(frames.catalogue, result.excluded)
    figures = parse_figures([f for fs in frames.figures.values() for f in fs], result.excluded)
    results = evaluate(targets, figures, quarter, at_risk=settings.at_risk)
    previous = {
        r.target_id: r for r in evaluate(targets, figures, quarter - 1, at_risk=settings.at_risk)
    }
    mark("fulfil")

    def render(version: int) -> dict[str, bytes]:
        return render_all(
            ReportInput(
                quarter=quarter,
                version=version,
                targets=targets,
                results=results,
                previous=previous,
                figures=[f for f in figures if f.quarter == quarter],
                warnings=result.warnings,
                waivers=result.waived,
                updated=date.today(),
            )
        )

    def index(entries: list) -> bytes:
        return render_index(
            [
                IndexQuarter(
                    quarter=e.quarter,
                    versions=[
                        IndexVersion(
                            version=v[0],
                            published_at=v[1],
                            href=f"{e.quarter}/versions/{v[0]}/report.html",
                        )
                        for v in e.versions
                    ],
                )
                for e in entries
            ]
        )

    # Render on its own first, so rendering and publishing are timed apart; publish then
    # gets the ready bytes, as the flow's publish task does.
    files = render(1)
    mark("render")
    published = publish(
        open_storage(args.publish_to),
        str(quarter),
        fingerprint=fingerprint(inputs.sources, settings.as_dict()),
        render=lambda n, _at: files if n == 1 else render(n),
        manifest_extra={"sources": [asdict(s) for s in inputs.sources]},
        index_renderer=index,
    )
    mark("publish")
    print(json.dumps({"version": published.version, "marks": marks}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
