"""The centres' check: what an idle poll costs, what a poll with one new file costs, against
`kvartal validate` on the whole quarter.

Each measure runs the real command in its own process (as the deployment's flow runs it),
CPU taken from the children's rusage, wall from the clock. Runs alternate between the
three kinds, so a machine that slows down mid-run slows all of them; medians are printed.
Mail goes to an aiosmtpd server on loopback started here.

    python bench/collection.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "inbox"
QUARTER = "2009Q3"


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kvartal.cli", *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{args[0]} fejlede: {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            Sink.count += 1
            return "250 OK"

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    work = Path(tempfile.mkdtemp(prefix="kvartal-bench-collection-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "KVARTAL_SMTP_HOST": "127.0.0.1",
        "KVARTAL_SMTP_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    results: dict[str, list[tuple[float, float]]] = {"idle": [], "one_new": [], "validate": []}
    try:
        inbox, review = work / "inbox", work / "review"
        shutil.copytree(EXAMPLE, inbox)
        loc = ["--quarter", QUARTER, "--inbox", str(inbox), "--review-to", str(review)]
        _run(["check", *loc], env)  # the first pass checks every file
        target = inbox / QUARTER / "Center for Jobindsats.csv"
        original = target.read_bytes()
        for i in range(args.rounds):
            results["idle"].append(_run(["check", *loc], env))
            # a corrected file: one new content (a trailing line changes the bytes only)
            target.write_bytes(original + b"\r\n" * (i + 1))
            results["one_new"].append(_run(["check", *loc], env))
            results["validate"].append(_run(["validate", *loc], env))
    finally:
        controller.stop()
        shutil.rmtree(work, ignore_errors=True)
    out = {
        kind: {
            "cpu_median_s": round(statistics.median(c for c, _ in runs), 2),
            "wall_median_s": round(statistics.median(w for _, w in runs), 2),
            "cpu_s": [round(c, 2) for c, _ in runs],
        }
        for kind, runs in results.items()
    }
    out["mails"] = Sink.count
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
