"""The register's deployment on two workers of one work pool, against `prefect server` on
PostgreSQL: both workers run inboxes, every correct inbox is published, a blocked one waits
for its operator in a run of its own without holding the others, the overview lists all."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "inbox"
NAMES = ["Vejle", "Horsens", "Kolding", "Fredericia"]
BLOCKED = "Vejen"
CPH = "Europe/Copenhagen"
POOL = "kvartal-register"


def test_two_workers_share_the_register(prefect_server_pg, tmp_path):
    server = prefect_server_pg
    prefect = Path(sys.executable).with_name("prefect")
    made = subprocess.run(
        [str(prefect), "work-pool", "create", POOL, "--type", "process"],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stdout + made.stderr

    lines = ['summary_to = "drift/oversigt"']
    for name in NAMES:
        shutil.copytree(EXAMPLE, tmp_path / "indbakker" / name.lower())
        lines += [
            "[[inbox]]",
            f'name = "{name}"',
            f'inbox = "indbakker/{name.lower()}"',
            f'publish_to = "rapporter/{name.lower()}"',
            f'review_to = "drift/{name.lower()}"',
        ]
    shutil.copytree(EXAMPLE, tmp_path / "indbakker" / "vejen")
    bad = tmp_path / "indbakker" / "vejen" / "2009Q3" / "BIF Stab.csv"
    bad.write_text(
        bad.read_text("utf-8-sig").replace(
            "1.7,kursister,2009Q3,26,", "1.7,kursister,2009Q3,abc,", 1
        ),
        "utf-8-sig",
    )
    lines += [
        "[[inbox]]",
        f'name = "{BLOCKED}"',
        'inbox = "indbakker/vejen"',
        'publish_to = "rapporter/vejen"',
        'review_to = "drift/vejen"',
    ]
    (tmp_path / "kommuner.toml").write_text("\n".join(lines) + "\n", "utf-8")

    deployed = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "deploy",
            "--register",
            "kommuner.toml",
            "--work-pool",
            POOL,
        ],
        cwd=tmp_path,
        env=server.env(KVARTAL_SHARDS="2"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "quarterly-reports/kommuner registreret" in deployed.stdout

    # Two workers, each in a folder of its own, each taking one run at a time.
    workers = []
    for n in (1, 2):
        folder = tmp_path / f"worker{n}"
        folder.mkdir()
        log = (folder / "worker.log").open("wb")
        workers.append(
            (
                folder / "worker.log",
                subprocess.Popen(
                    [
                        str(prefect),
                        "worker",
                        "start",
                        "--pool",
                        POOL,
                        "--name",
                        f"w{n}",
                        "--limit",
                        "1",
                    ],
                    cwd=folder,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=server.env(
                        PREFECT_HOME=str(folder / "home"),
                        PREFECT_WORKER_QUERY_SECONDS="2",
                        PREFECT_LOGGING_TO_API_ENABLED="true",
                    ),
                ),
            )
        )
    try:
        from prefect import get_client
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: server.api_url}):
            parent = run_deployment(
                "quarterly-reports/kommuner",
                timeout=0,
                parameters={"quarter": "2009Q3"},
                as_subflow=False,
            )
            with get_client(sync_client=True) as client:
                deadline = time.monotonic() + 900
                while True:
                    run = client.read_flow_run(parent.id)
                    if run.state is not None and run.state.is_final():
                        break
                    assert time.monotonic() < deadline, "the register's run did not finish"
                    time.sleep(3)
                assert run.state.is_completed(), (run.state, _tails(workers))

                deployment = client.read_deployment_by_name("quarterly-reports/kommuner")
                (schedule,) = deployment.schedules
                assert (schedule.schedule.cron, schedule.schedule.timezone) == (
                    "0 6 10 1,4,7,10 *",
                    CPH,
                )
                assert deployment.parameters["shards"] == 2
                assert [e["name"] for e in deployment.parameters["inbox_register"]["inboxes"]] == [
                    *NAMES,
                    BLOCKED,
                ]

                # Each inbox is a quarterly-report run of its own: the register's five
                # inboxes in turn, round robin, three here and two in the other process.
                runs = client.read_flow_runs()
                children = {r.name: r for r in runs if r.name.endswith(" 2009Q3")}
                assert sorted(children) == sorted(f"{n} 2009Q3" for n in [*NAMES, BLOCKED])
                assert all(children[f"{n} 2009Q3"].state.is_completed() for n in NAMES)
                assert children[f"{BLOCKED} 2009Q3"].state.is_failed()
                owners = {
                    n: client.read_task_run(r.parent_task_run_id).flow_run_id
                    for n, r in children.items()
                }
                shard_ids = set(owners.values()) - {parent.id}
                assert len(shard_ids) == 1
                (shard_id,) = shard_ids
                shard_name = client.read_flow_run(shard_id).name
                assert shard_name == "2009Q3 del 2"
                here = sorted(n.split()[0] for n, o in owners.items() if o == parent.id)
                assert here == sorted(["Vejle", "Kolding", BLOCKED])

                # The blocked inbox waits for its operator in a run of its own, submitted
                # to the pool: the register's run finished without waiting for it.
                (waiting,) = [r for r in runs if r.name == f"{BLOCKED} 2009Q3 (godkendelse)"]
                assert waiting.parameters["interactive"] is False
                assert not waiting.state.is_final()
    finally:
        for _, proc in workers:
            proc.terminate()
        for _, proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    # The two processes, the parent's and the share's, were started by two workers.
    # (Both may try to take the same run; the server lets one have it.)
    started = [
        set(re.findall(r"Flow run '(.+?)' submitted to infrastructure", log.read_text()))
        for log, _ in workers
    ]
    first, second = started
    assert (run.name in first and shard_name in second) or (
        run.name in second and shard_name in first
    ), _tails(workers)

    for name in NAMES:
        manifest = tmp_path / "rapporter" / name.lower() / "2009Q3" / "manifest.json"
        assert json.loads(manifest.read_text())["version"] == 1
    summary = json.loads((tmp_path / "drift/oversigt/2009Q3/oversigt.json").read_text())
    assert summary["counts"] == {"udgivet": 4, "blokeret": 1, "fejl": 0}
    assert [i["name"] for i in summary["inboxes"]] == [*NAMES, BLOCKED]
    assert summary["inboxes"][-1]["errors"] == 1
    assert "venter på en operatørs godkendelse" in summary["inboxes"][-1]["reason"]
    assert not (tmp_path / "rapporter" / "vejen").exists()
    # one run of the register publishes each inbox as its own run does: same figures
    first = (tmp_path / "rapporter/vejle/2009Q3/fulfilment.json").read_bytes()
    assert all(
        (tmp_path / "rapporter" / n.lower() / "2009Q3/fulfilment.json").read_bytes() == first
        for n in NAMES
    )


def _tails(workers: list[tuple[Path, subprocess.Popen[bytes]]]) -> str:
    return "\n\n".join(log.read_text()[-3000:] for log, _ in workers)
