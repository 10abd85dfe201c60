"""How long a quarterly run takes, against what merely importing its libraries costs.

The goal is that a cold `kvartal run` of the example quarter takes at most 1.5 × the
"import floor" (`python -c "import great_expectations, prefect"`): the time no Prefect
pipeline built on Great Expectations can go below. `bench/bare.py` does the same work
without Prefect, so the gap between it and the run is what the orchestration costs.

One invocation times all three, `--runs` times each (median reported), measures each
process's peak memory, splits the run's time into stages from its own log, splits the
imports with `python -X importtime`, and writes docs/benchmarks.md.

    .venv/bin/python bench/bench.py            # 3 runs each, writes docs/benchmarks.md
    .venv/bin/python bench/bench.py --runs 5 --out /tmp/benchmarks.md

Every `kvartal run` is cold: no PREFECT_API_URL (Prefect starts its ephemeral server), a
fresh PREFECT_HOME (so a new database), and fresh output folders.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL = 1.5
TIME_BIN = "/usr/bin/time"


@dataclass
class Measure:
    wall: float
    peak_mb: float | None
    rc: int
    stdout: str
    stderr: str
    started: datetime
    extra: dict[str, float] = field(default_factory=dict)


def _env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PYTHONPATH=str(REPO))
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    return env


def measure(cmd: list[str], env: dict[str, str]) -> Measure:
    """Wall time and peak RSS of one process (GNU time when present, else getrusage)."""
    use_time = Path(TIME_BIN).exists()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = [TIME_BIN, "-v", "-o", tf.name, *cmd] if use_time else cmd
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = datetime.now()
        t0 = time.perf_counter()
        proc = subprocess.run(full, env=env, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        peak: float | None = None
        if use_time:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
            peak = int(m.group(1)) / 1024 if m else None
        else:
            after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            # ru_maxrss of children is the largest child so far: only a rise is this one's.
            peak = after / 1024 if after > before else None
    return Measure(wall, peak, proc.returncode, proc.stdout, proc.stderr, started)


def kvartal_command() -> list[str]:
    script = Path(sys.executable).parent / "kvartal"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kvartal.cli"]


# --- Where a run's time goes, from its Prefect log --------------------------------------
_LOG = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| \w+\s+\| (.*)$")
_STAGES = [
    ("CLI start and imports", r"Starting temporary server"),
    ("Prefect ephemeral server start", r"Beginning flow run"),
    ("gather (read the inbox)", r"Task run 'gather-\w+' - Finished"),
    ("validation (Great Expectations) and review files", r"Task run 'write-review-\w+' - Finished"),
    ("fulfilment", r"Task run 'fulfil-\w+' - Finished"),
    ("rendering incl. PDF", r"Task run 'render-\w+' - Finished"),
    ("publishing", r"Task run 'publish-\w+' - Finished"),
    ("notification", r"Task run 'notify-recipients-\w+' - (Finished|Task run failed)"),
    ("flow end and server stop", r"Stopping temporary server"),
]


def run_stages(m: Measure, import_wall: float) -> dict[str, float]:
    """Seconds per stage: from the previous stage's last log line to this one's.

    kvartal starts the temporary server before its imports, so nothing is logged between
    the command's start and the flow's first line: that stretch is one stage.
    """
    stamps: list[tuple[datetime, str]] = []
    for line in (m.stdout + "\n" + m.stderr).splitlines():
        hit = _LOG.match(line.strip())
        if hit:
            h, mi, s, ms, text = hit.groups()
            at = m.started.replace(
                hour=int(h), minute=int(mi), second=int(s), microsecond=int(ms) * 1000
            )
            if at < m.started - timedelta(seconds=1):
                at += timedelta(days=1)
            stamps.append((at, text))
    out: dict[str, float] = {}
    previous = m.started
    for name, pattern in _STAGES:
        hits = [at for at, text in stamps if re.search(pattern, text)]
        if not hits:
            continue
        at = max(hits)
        out[name] = max(0.0, (at - previous).total_seconds())
        previous = at
    out["exit"] = max(0.0, (m.started + timedelta(seconds=m.wall) - previous).total_seconds())
    if "CLI start and imports" not in out and "Prefect ephemeral server start" in out:
        # kvartal starts the server first and imports while it boots: one stretch, not two
        out[START] = out.pop("Prefect ephemeral server start")
    return out


START = "start: imports, side by side with the temporary server's boot"


def import_split() -> list[tuple[str, float]]:
    """Import seconds by top-level package (each module's own time), for what a run imports.

    Great Expectations and WeasyPrint are imported lazily inside the stages that need
    them, so they are named here explicitly.
    """
    code = (
        "import kvartal.cli, flows.quarterly, kvartal.validation, kvartal.report, "
        "kvartal.gather, kvartal.publish, great_expectations, weasyprint"
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    totals: dict[str, float] = defaultdict(float)
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if m:
            totals[m.group(2).split(".")[0]] += int(m.group(1)) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])


def median(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None


def fmt(x: float | None, unit: str = "s") -> str:
    return "–" if x is None else f"{x:.1f} {unit}"


def stage_table(names: list[str], seconds: dict[str, float | None]) -> list[str]:
    """A markdown table of the stages that were measured, in their order."""
    rows = [f"| {n} | {seconds[n]:.1f} |" for n in names if seconds[n] is not None]
    return ["| stage | seconds |", "|---|---|", *rows]


def locations(args: argparse.Namespace, publish: str, review: str) -> list[str]:
    """The arguments every measured run shares: the quarter, the inbox and where to write."""
    return [
        "--quarter",
        args.quarter,
        "--inbox",
        args.inbox,
        "--publish-to",
        publish,
        "--review-to",
        review,
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quarter", default="2009Q3")
    p.add_argument("--inbox", default=str(REPO / "examples" / "inbox"))
    p.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    args = p.parse_args()

    floor: list[Measure] = []
    bare: list[Measure] = []
    runs: list[Measure] = []
    warm: list[Measure] = []  # the Prefect database kept from the run before
    late: list[Measure] = []  # KVARTAL_EARLY_SERVER=0: Prefect starts its server itself
    run_imports: list[Measure] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kvartal-bench-") as tmp:
        for i in range(args.runs):
            print(f"runde {i + 1}/{args.runs}", file=sys.stderr)
            floor.append(
                measure([sys.executable, "-c", "import great_expectations, prefect"], _env())
            )
            # What `kvartal run` imports before it starts the flow: splits the run's time
            # before its first log line into imports and the ephemeral server's start.
            run_imports.append(
                measure([sys.executable, "-c", "import kvartal.cli, flows.quarterly"], _env())
            )
            out = Path(tmp) / f"bare{i}"
            bare.append(
                measure(
                    [
                        sys.executable,
                        str(REPO / "bench" / "bare.py"),
                        *locations(args, str(out / "publish"), str(out / "review")),
                    ],
                    _env(),
                )
            )
            out = Path(tmp) / f"run{i}"
            home = out / "prefect-home"
            home.mkdir(parents=True)
            runs.append(
                measure(
                    [
                        *kvartal_command(),
                        "run",
                        *locations(args, str(out / "publish"), str(out / "review")),
                    ],
                    _env(home),
                )
            )
            kept = Path(tmp) / "kept-prefect-home"
            kept.mkdir(exist_ok=True)
            for target, env in (
                (warm, _env(kept)),
                (late, {**_env(home.with_name("late-home")), "KVARTAL_EARLY_SERVER": "0"}),
            ):
                Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
                target.append(
                    measure(
                        [
                            *kvartal_command(),
                            "run",
                            *locations(
                                args,
                                str(out / f"publish{len(target)}{id(target)}"),
                                str(out / "review"),
                            ),
                        ],
                        env,
                    )
                )
            for m in (floor[-1], bare[-1], runs[-1], warm[-1], late[-1]):
                if m.rc != 0:
                    print(f"  afsluttede med {m.rc}: {m.stderr[-2000:]}", file=sys.stderr)
            print(
                f"  gulv {floor[-1].wall:.1f} s, bare {bare[-1].wall:.1f} s, "
                f"kvartal run {runs[-1].wall:.1f} s, kept database {warm[-1].wall:.1f} s, "
                f"Prefect's own server start {late[-1].wall:.1f} s",
                file=sys.stderr,
            )
            shutil.rmtree(out, ignore_errors=True)
        imports = import_split()
        served = time_against_server(args, Path(tmp))
    load = (load_before, os.getloadavg())

    write_report(
        Path(args.out), args, floor, bare, runs, run_imports, imports, load, warm, late, served
    )
    print(Path(args.out).read_text(encoding="utf-8"))
    return 0 if all(m.rc == 0 for m in floor + bare + runs + warm + late + served) else 1


def time_against_server(args: argparse.Namespace, tmp: Path) -> list[Measure]:
    """The production case: a server is already running, so no run pays its start."""
    import socket
    import urllib.request

    home = tmp / "server-home"
    home.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**_env(home), "PREFECT_SERVER_UI_ENABLED": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(api + "/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        out = []
        for i in range(args.runs):
            target = tmp / f"served{i}"
            out.append(
                measure(
                    [
                        *kvartal_command(),
                        "run",
                        *locations(args, str(target / "publish"), str(target / "review")),
                    ],
                    {**_env(home), "PREFECT_API_URL": api},
                )
            )
            print(f"  mod kørende server {out[-1].wall:.1f} s", file=sys.stderr)
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def write_report(
    out: Path,
    args: argparse.Namespace,
    floor: list[Measure],
    bare: list[Measure],
    runs: list[Measure],
    run_imports: list[Measure],
    imports: list[tuple[str, float]],
    load: tuple[tuple[float, ...], tuple[float, ...]],
    warm: list[Measure],
    late: list[Measure],
    served: list[Measure],
) -> None:
    f_wall, b_wall, r_wall = (median([m.wall for m in ms]) for ms in (floor, bare, runs))
    assert f_wall and b_wall and r_wall
    ratio = r_wall / f_wall
    met = ratio <= GOAL
    stage_names = (
        [name for name, _ in _STAGES[:1]] + [START] + [name for name, _ in _STAGES[1:]] + ["exit"]
    )
    import_wall = median([m.wall for m in run_imports]) or 0.0
    per_run = [run_stages(m, import_wall) for m in runs]
    stages = {name: median([s.get(name) for s in per_run]) for name in stage_names}
    bare_marks = [_bare_marks(m) for m in bare]
    bare_stage_names = ["imports", "gather", "validate", "fulfil", "render", "publish"]
    bare_stages: dict[str, float | None] = {}
    for i, name in enumerate(bare_stage_names):
        diffs = [
            mk[name] - (mk[bare_stage_names[i - 1]] if i else 0.0)
            for mk in bare_marks
            if name in mk and (i == 0 or bare_stage_names[i - 1] in mk)
        ]
        bare_stages[name] = median(list(diffs))

    rcs = ", ".join(f"{m.rc}" for m in runs)
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/bench.py` from a real run; run it again after a change that could "
        "move these numbers (`.venv/bin/python bench/bench.py --runs 3`).",
        "",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"- Date: {datetime.now():%Y-%m-%d %H:%M}; runs per command: {args.runs} (median "
        "shown); quarter: example inbox 2009Q3",
        f"- `kvartal run` exit statuses: {rcs}",
        f"- Load average (1/5/15 min) before: {_load(load[0])}, after: {_load(load[1])}. "
        "On a machine shared with other work the figures scatter; compare medians.",
        "",
        "## The goal",
        "",
        f"A cold `kvartal run` of the example quarter takes at most {GOAL} × the import "
        'floor (`python -c "import great_expectations, prefect"`).',
        "",
        f"**{'Met' if met else 'Not met'}**: {r_wall:.1f} s against {f_wall:.1f} s, "
        f"{ratio:.2f} × the floor (the goal allows {GOAL * f_wall:.1f} s).",
        "",
        "| command | median wall time | median peak memory (RSS) | all runs (s) |",
        "|---|---|---|---|",
    ]
    for label, ms in (
        ("import floor: `import great_expectations, prefect`", floor),
        ("`bench/bare.py`: the same work without Prefect", bare),
        ("what `kvartal run` imports before its flow starts", run_imports),
        ("cold `kvartal run` (ephemeral Prefect, fresh PREFECT_HOME)", runs),
        ("`kvartal run`, Prefect database kept from the run before", warm),
        (
            "cold `kvartal run` with `KVARTAL_EARLY_SERVER=0` (Prefect starts "
            "its temporary server itself, after the imports)",
            late,
        ),
        (
            "`kvartal run` against a running `prefect server` (`PREFECT_API_URL`, "
            "as scheduled runs have)",
            served,
        ),
    ):
        lines.append(
            f"| {label} | {fmt(median([m.wall for m in ms]))} | "
            f"{fmt(median([m.peak_mb for m in ms]), 'MB')} | "
            f"{', '.join(f'{m.wall:.1f}' for m in ms)} |"
        )
    lines += [
        "",
        "## Where the time goes",
        "",
        "A `kvartal run`, split by its own log's timestamps (median of the runs; each stage "
        "runs from the previous stage's last log line to its own):",
        "",
        *stage_table(stage_names, stages),
        "",
        "The same work without Prefect (`bench/bare.py`'s own timestamps, median):",
        "",
        *stage_table(bare_stage_names, bare_stages),
    ]
    lines += [
        "",
        "Imports, by top-level package (`python -X importtime`: each module's own time, "
        "summed by package, in one cold interpreter importing what a run imports):",
        "",
        "| package | seconds |",
        "|---|---|",
    ]
    for name, secs in imports[:10]:
        lines.append(f"| {name} | {secs:.2f} |")
    lines += [
        "",
        "## Reading the numbers",
        "",
        *_reading(f_wall, b_wall, r_wall, stages, bare_stages),
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")


def _load(avg: tuple[float, ...]) -> str:
    return " / ".join(f"{x:.1f}" for x in avg)


def _bare_marks(m: Measure) -> dict[str, float]:
    import json

    for line in reversed(m.stdout.splitlines()):
        if line.startswith("{"):
            marks: dict[str, float] = json.loads(line).get("marks", {})
            return marks
    return {}


def _reading(
    f_wall: float,
    b_wall: float,
    r_wall: float,
    stages: dict[str, float | None],
    bare_stages: dict[str, float | None],
) -> list[str]:
    server = stages.get(START) or 0.0
    validation = bare_stages.get("validate") or 0.0
    render = bare_stages.get("render") or 0.0
    notify = stages.get("notification") or 0.0
    out = [
        f"- The run takes {r_wall - b_wall:.1f} s more than the bare script. Before its flow "
        f"starts, {server:.1f} s pass: kvartal starts Prefect's temporary server first and "
        "imports Great Expectations, WeasyPrint and the flow while it boots (on two cores the "
        "two overlap; left to Prefect, the server starts only after the imports, the "
        "`KVARTAL_EARLY_SERVER=0` row). The server's boot (importing Prefect's server, "
        "migrating a new database) is the critical path; a run against a running server "
        "(`PREFECT_API_URL`, as the scheduled deployment has) does not pay it.",
        f"- Validation costs {validation:.1f} s without Prefect, most of it Great "
        "Expectations' import and context set-up rather than the checks on ~150 rows.",
        f"- Rendering, PDF included, costs {render:.1f} s.",
    ]
    if notify > 5:
        out.append(
            f"- Notification took {notify:.1f} s: it failed and was retried (see the "
            "exit statuses above); that is not the pipeline's normal cost."
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
