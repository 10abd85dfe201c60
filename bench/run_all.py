"""Many inboxes: `kvartal run` for each in turn against `run-all` on one and two workers.

For N copies of the example inbox (24 by default) it measures, alternating the modes within
each repetition so that the machine's load falls on all of them alike:

  (a)  `kvartal run` for each inbox in turn, cold as an operator runs it (Prefect's
       temporary server, a fresh PREFECT_HOME). `--sequential K` runs only K of them per
       repetition and multiplies the median by N (each run is independent of the others).
  (b)  the register's deployment on one process worker (one share), against a running
       `prefect server`: from creating the run to its end;
  (b') `kvartal run-all` with no server (what an operator types), also with 4 inboxes, for
       the marginal CPU cost of one more inbox;
  (c)  the register's deployment on two process workers (two shares).

Peak memory per worker is the largest sum of the resident memory of a worker and its flow
run processes, sampled every 0.2 s. Where the time goes comes from the child flow runs'
own start and end times in Prefect's API.

    .venv/bin/python bench/run_all.py                      # 24 inboxes, 2 repetitions
    .venv/bin/python bench/run_all.py --inboxes 8 --repeat 1 --sequential 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "inbox"
QUARTER = "2009Q3"
POOL = "bench-register"
BIN = Path(sys.executable).parent
MARK_BEGIN = "<!-- run-all benchmark: begin -->"
MARK_END = "<!-- run-all benchmark: end -->"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- memory of a process tree -------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler:
    """The largest summed RSS of each root process and its descendants while running."""

    def __init__(self, roots: list[int]):
        self.roots, self.peak_mb = roots, dict.fromkeys(roots, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            tree = _children()
            for root in self.roots:
                todo, total = [root], 0
                while todo:
                    pid = todo.pop()
                    total += _rss_kb(pid)
                    todo += tree.get(pid, [])
                self.peak_mb[root] = max(self.peak_mb[root], total / 1024)

    def stop(self) -> dict[int, float]:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


# --- a measured command -------------------------------------------------------------------
@dataclass
class Measure:
    wall: float
    cpu: float | None = None
    peak_mb: list[float] = field(default_factory=list)
    rc: int = 0
    children: list[tuple[str, float, float, float]] = field(default_factory=list)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> Measure:
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", tf.name, *cmd],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        sampler = TreeSampler([proc.pid])
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        peak = sampler.stop()[proc.pid]
        text = tf.read()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))  # type: ignore[union-attr]
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))  # type: ignore[union-attr]
    if proc.returncode not in (0,):
        print(f"  {cmd[1:3]} exited {proc.returncode}: {err[-1500:]}", file=sys.stderr)
    return Measure(wall, user + system, [peak], proc.returncode)


# --- inboxes and registers ----------------------------------------------------------------
def make_inboxes(top: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        path = top / "inbox" / f"k{i:02d}"
        shutil.copytree(EXAMPLE, path)
        paths.append(path)
    return paths


def register_dict(inboxes: list[Path], out: Path) -> dict[str, Any]:
    return {
        "summary_to": str(out / "oversigt"),
        "source": "bench.toml",
        "inboxes": [
            {
                "name": f"Kommune {p.name}",
                "inbox": str(p),
                "publish_to": str(out / "pub" / p.name),
                "review_to": str(out / "rev" / p.name),
            }
            for p in inboxes
        ],
    }


def register_toml(inboxes: list[Path], out: Path, file_name: str = "register.toml") -> Path:
    data = register_dict(inboxes, out)
    lines = [f'summary_to = "{data["summary_to"]}"']
    for e in data["inboxes"]:
        lines += ["[[inbox]]", *(f'{k} = "{v}"' for k, v in e.items())]
    path = out / file_name
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


# --- the three modes ----------------------------------------------------------------------
def mode_sequential(top: Path, inboxes: list[Path], k: int, rep: int) -> list[Measure]:
    out = []
    for i, inbox in enumerate(inboxes[:k]):
        where = top / f"seq-{rep}-{i}"
        (where / "home").mkdir(parents=True)
        m = timed(
            [
                str(BIN / "kvartal"),
                "run",
                "--quarter",
                QUARTER,
                "--inbox",
                str(inbox),
                "--publish-to",
                str(where / "pub"),
                "--review-to",
                str(where / "rev"),
            ],
            _env(PREFECT_HOME=str(where / "home")),
            REPO,
        )
        print(f"  (a) kvartal run {inbox.name}: {m.wall:.1f} s", flush=True)
        out.append(m)
    return out


def mode_local(top: Path, inboxes: list[Path], tag: str) -> Measure:
    where = top / f"local-{tag}"
    register = register_toml(inboxes, where)
    (where / "home").mkdir()
    m = timed(
        [str(BIN / "kvartal"), "run-all", "--quarter", QUARTER, "--register", str(register)],
        _env(PREFECT_HOME=str(where / "home")),
        REPO,
    )
    print(
        f"  (b') kvartal run-all, {len(inboxes)} inboxes: {m.wall:.1f} s, CPU {m.cpu:.1f} s",
        flush=True,
    )
    return m


class Server:
    def __init__(self, top: Path):
        self.home = top / "server-home"
        self.home.mkdir()
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.log = (self.home / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [
                str(BIN / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=_env(PREFECT_HOME=str(self.home), PREFECT_SERVER_UI_ENABLED="false"),
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.api + "/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("prefect server did not start")

    def env(self, **extra: str) -> dict[str, str]:
        return _env(**{"PREFECT_API_URL": self.api, "PREFECT_HOME": str(self.home), **extra})

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def mode_workers(top: Path, server: Server, inboxes: list[Path], workers: int, tag: str) -> Measure:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.deployments import run_deployment

    where = top / f"workers-{tag}"
    procs = []
    for n in range(workers):
        folder = where / f"worker{n}"
        (folder / "home").mkdir(parents=True)
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "prefect"),
                    "worker",
                    "start",
                    "--pool",
                    POOL,
                    "--name",
                    f"bench-{tag}-{n}",
                    "--limit",
                    "1",
                ],
                cwd=folder,
                stdout=(folder / "worker.log").open("wb"),
                stderr=subprocess.STDOUT,
                env=server.env(PREFECT_HOME=str(folder / "home"), PREFECT_WORKER_QUERY_SECONDS="1"),
            )
        )
    time.sleep(8)  # the workers' own start is not part of a quarter's run
    sampler = TreeSampler([p.pid for p in procs])
    t0 = time.perf_counter()
    run = run_deployment(
        "quarterly-reports/bench",
        timeout=0,
        as_subflow=False,
        parameters={
            "quarter": QUARTER,
            "inbox_register": register_dict(inboxes, where),
            "shards": workers,
        },
    )
    assert not isinstance(run, type(None))
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(run.id).state  # type: ignore[union-attr]
            if state is not None and state.is_final():
                break
            time.sleep(0.5)
        wall = time.perf_counter() - t0
        peaks = sampler.stop()
        children = [
            (
                r.name,
                r.start_time.timestamp(),
                r.end_time.timestamp(),
                r.total_run_time.total_seconds(),
            )
            for r in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="Kommune k")), limit=200
            )
            if r.start_time and r.end_time and str(where) in json.dumps(r.parameters)
        ]
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    ok = state.is_completed()
    print(
        f"  ({'b' if workers == 1 else 'c'}) {workers} worker(s): {wall:.1f} s, "
        f"{state.name}, peak {max(peaks.values()):.0f} MB",
        flush=True,
    )
    return Measure(wall, None, list(peaks.values()), 0 if ok else 1, children)


# --- report -------------------------------------------------------------------------------
def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inboxes", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--sequential",
        type=int,
        default=6,
        help="kvartal runs per repetition in mode (a); the median × inboxes",
    )
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    args = ap.parse_args()

    top = Path(tempfile.mkdtemp(prefix="kvartal-run-all-bench-"))
    inboxes = make_inboxes(top, args.inboxes)
    load_before = os.getloadavg()
    started = datetime.now()
    server = Server(top)
    os.environ["PREFECT_API_URL"] = server.api
    os.environ["PREFECT_HOME"] = str(server.home)
    subprocess.run(
        [str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"],
        env=server.env(),
        check=True,
        capture_output=True,
    )
    # The deployments are named after the register's file: bench.toml -> quarterly-reports/bench.
    # Each measurement passes its own register (fresh output folders) as a parameter.
    deployed = subprocess.run(
        [
            str(BIN / "kvartal"),
            "deploy",
            "--register",
            str(register_toml(inboxes, top / "deploy", "bench.toml")),
            "--work-pool",
            POOL,
        ],
        env=server.env(),
        cwd=top,
        capture_output=True,
        text=True,
    )
    if deployed.returncode != 0:
        raise SystemExit(deployed.stderr)

    seq: list[Measure] = []
    local24: list[Measure] = []
    local4: list[Measure] = []
    one: list[Measure] = []
    two: list[Measure] = []
    try:
        for rep in range(args.repeat):
            print(f"repetition {rep + 1}/{args.repeat}", flush=True)
            seq += mode_sequential(top, inboxes, args.sequential, rep)
            one.append(mode_workers(top, server, inboxes, 1, f"one-{rep}"))
            local24.append(mode_local(top, inboxes, f"all-{rep}"))
            two.append(mode_workers(top, server, inboxes, 2, f"two-{rep}"))
            local4.append(mode_local(top, inboxes[:4], f"four-{rep}"))
    finally:
        server.stop()
    load_after = os.getloadavg()
    sample = [
        top / "seq-0-0" / "pub",
        top / "local-all-0" / "pub" / inboxes[0].name,
        top / "workers-one-0" / "pub" / inboxes[0].name,
        top / "workers-two-0" / "pub" / inboxes[0].name,
    ]
    prints = {
        (p / QUARTER / "fulfilment.json").read_bytes()
        for p in sample
        if (p / QUARTER / "fulfilment.json").exists()
    }
    args.same = f"{len(sample)} copies, {len(prints)} distinct" if prints else "not compared"
    write_report(
        Path(args.out), args, started, load_before, load_after, seq, local24, local4, one, two
    )
    shutil.rmtree(top, ignore_errors=True)
    return 0


def _child_split(ms: list[Measure]) -> tuple[float, float, float]:
    """Median seconds of the first inbox of each process, of the others, and their count."""
    firsts, rest = [], []
    for m in ms:
        # the inboxes of one process run one after another: a new process starts a new chain
        chains: list[list[tuple[str, float, float, float]]] = []
        for child in sorted(m.children, key=lambda c: c[1]):
            for chain in chains:
                if abs(child[1] - chain[-1][2]) < 1.5:
                    chain.append(child)
                    break
            else:
                chains.append([child])
        for chain in chains:
            firsts.append(chain[0][2] - chain[0][1])
            rest += [c[2] - c[1] for c in chain[1:]]
    return med(firsts), med(rest), float(len(rest) + len(firsts))


def write_report(
    out: Path,
    args: argparse.Namespace,
    started: datetime,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    seq: list[Measure],
    local24: list[Measure],
    local4: list[Measure],
    one: list[Measure],
    two: list[Measure],
) -> None:
    n = args.inboxes
    a = med([m.wall for m in seq]) * n
    b, c, b_local = (
        med([m.wall for m in one]),
        med([m.wall for m in two]),
        med([m.wall for m in local24]),
    )
    cpu24, cpu4 = med([m.cpu or 0 for m in local24]), med([m.cpu or 0 for m in local4])
    marginal = (cpu24 - cpu4) / (n - 4)
    seq_cpu = med([m.cpu or 0 for m in seq])
    peak_one = max((p for m in one for p in m.peak_mb), default=float("nan"))
    peak_two = max((p for m in two for p in m.peak_mb), default=float("nan"))
    first, rest, _ = _child_split(one + two)
    rows = [
        f"- Date: {started:%Y-%m-%d %H:%M}; {n} copies of the example inbox, quarter "
        f"{QUARTER}; {args.repeat} repetitions, the modes alternating within each; "
        f"{os.cpu_count()} CPUs (shared with other work), {platform.machine()}, Python "
        f"{platform.python_version()}",
        f"- Load average (1/5/15 min) before: {' / '.join(f'{x:.1f}' for x in load_before)}, "
        f"after: {' / '.join(f'{x:.1f}' for x in load_after)}. The machine was shared with "
        "other work running tests: single figures scatter; compare the medians' ratios.",
        f"- (a) was measured for {args.sequential} of the {n} inboxes per repetition "
        f"({len(seq)} runs: {', '.join(f'{m.wall:.1f}' for m in seq)} s); the median × {n} "
        "stands for all of them in turn, as the runs are independent and alike.",
        "",
        "| mode | median wall time | all runs (s) | goal | met |",
        "|---|---|---|---|---|",
        f"| (a) `kvartal run` for each inbox in turn (cold) | {a:.0f} s "
        f"(median {med([m.wall for m in seq]):.1f} s × {n}) | "
        f"{', '.join(f'{m.wall:.1f}' for m in seq)} | | |",
        f"| (b) register deployment, one process worker | {b:.0f} s | "
        f"{', '.join(f'{m.wall:.1f}' for m in one)} | ≤ 0.3 × (a) = {0.3 * a:.0f} s: "
        f"{b / a:.2f} × (a) | {'yes' if b <= 0.3 * a else 'no'} |",
        f"| (b') `kvartal run-all`, no server | {b_local:.0f} s | "
        f"{', '.join(f'{m.wall:.1f}' for m in local24)} | ≤ 0.3 × (a) = {0.3 * a:.0f} s: "
        f"{b_local / a:.2f} × (a) | {'yes' if b_local <= 0.3 * a else 'no'} |",
        f"| (c) register deployment, two process workers | {c:.0f} s | "
        f"{', '.join(f'{m.wall:.1f}' for m in two)} | ≤ 0.6 × (b) = {0.6 * b:.0f} s: "
        f"{c / b:.2f} × (b) | {'yes' if c <= 0.6 * b else 'no'} |",
        "",
        "| measure | value | goal | met |",
        "|---|---|---|---|",
        f"| marginal CPU of one more inbox: (CPU of run-all with {n} − with 4) / {n - 4} | "
        f"{marginal:.1f} s (CPU {cpu24:.0f} s and {cpu4:.0f} s) | ≤ 8 s | "
        f"{'yes' if marginal <= 8 else 'no'} |",
        f"| CPU of one cold `kvartal run` | {seq_cpu:.1f} s | | |",
        f"| peak memory per worker (worker + its flow run process), one worker | "
        f"{peak_one:.0f} MB | ≤ 600 MB | {'yes' if peak_one <= 600 else 'no'} |",
        f"| the same, two workers (the larger) | {peak_two:.0f} MB | ≤ 600 MB | "
        f"{'yes' if peak_two <= 600 else 'no'} |",
        f"| peak memory of `kvartal run-all` (with its temporary server) | "
        f"{max(p for m in local24 for p in m.peak_mb):.0f} MB | | |",
        f"| an inbox's child flow run, the first in its process (median) | {first:.1f} s | | |",
        f"| an inbox's child flow run, the others (median) | {rest:.1f} s | | |",
        f"| {QUARTER}/fulfilment.json of inbox k00 from (a), (b'), (b), (c) | {args.same} | "
        "byte for byte the same | " + ("yes" if args.same.endswith(" 1 distinct") else "no") + " |",
    ]
    section = "\n".join(
        [
            MARK_BEGIN,
            "## Many inboxes: `run-all` and workers",
            "",
            "Written by `bench/run_all.py` "
            f"(`.venv/bin/python bench/run_all.py --inboxes {n} --repeat "
            f"{args.repeat} --sequential {args.sequential}`).",
            "",
            *rows,
            MARK_END,
        ]
    )
    text = out.read_text("utf-8") if out.exists() else "# Benchmarks\n"
    if MARK_BEGIN in text:
        head, rest_ = text.split(MARK_BEGIN, 1)
        text = head + section + rest_.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    out.write_text(text, "utf-8")
    print(section)


if __name__ == "__main__":
    raise SystemExit(main())
