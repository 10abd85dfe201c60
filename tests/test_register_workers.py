"""The register's deployment on two workers of one work pool, against `prefect server` on
PostgreSQL: both workers run inboxes, every inbox is published, the overview lists them."""

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
POOL = "kvartal-register"


def test_two_workers_share_the_register(prefect_server_pg, tmp_path):
    server = prefect_server_pg
    prefect = Path(sys.executable).with_name("prefect")
    made = subprocess.run([str(prefect), "work-pool", "create", POOL, "--type", "process"],
                          env=server.env(), capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr

    lines = ['summary_to = "drift/oversigt"']
    for name in NAMES:
        shutil.copytree(EXAMPLE, tmp_path / "indbakker" / name.lower())
        lines += ["[[inbox]]", f'name = "{name}"', f'inbox = "indbakker/{name.lower()}"',
                  f'publish_to = "rapporter/{name.lower()}"',
                  f'review_to = "drift/{name.lower()}"']
    (tmp_path / "kommuner.toml").write_text("\n".join(lines) + "\n", "utf-8")

    deployed = subprocess.run(
        [sys.executable, "-m", "kvartal.cli", "deploy", "--register", "kommuner.toml",
         "--work-pool", POOL], cwd=tmp_path, env=server.env(KVARTAL_SHARDS="2"),
        capture_output=True, text=True, timeout=300)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "quarterly-reports/kommuner registreret" in deployed.stdout

    # Two workers, each in a folder of its own, each taking one run at a time.
    workers = []
    for n in (1, 2):
        folder = tmp_path / f"worker{n}"
        folder.mkdir()
        log = (folder / "worker.log").open("wb")
        workers.append((folder / "worker.log", subprocess.Popen(
            [str(prefect), "worker", "start", "--pool", POOL, "--name", f"w{n}", "--limit",
             "1"], cwd=folder, stdout=log, stderr=subprocess.STDOUT,
            env=server.env(PREFECT_HOME=str(folder / "home"), PREFECT_WORKER_QUERY_SECONDS="2",
                           PREFECT_LOGGING_TO_API_ENABLED="true"))))
    try:
        from prefect import get_client
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: server.api_url}):
            parent = run_deployment("quarterly-reports/kommuner", timeout=0,
                                    parameters={"quarter": "2009Q3"}, as_subflow=False)
            with get_client(sync_client=True) as client:
                deadline = time.monotonic() + 900
                while True:
                    run = client.read_flow_run(parent.id)
                    if run.state is not None and run.state.is_final():
                        break
                    assert time.monotonic() < deadline, "the register's run did not finish"
                    time.sleep(3)
                assert run.state.is_completed(), (run.state, _tails(workers))

                # Each inbox is a quarterly-report run of its own, two under each process.
                children = [r for r in client.read_flow_runs()
                            if r.name.endswith(" 2009Q3") and r.name.split()[0] in NAMES]
                assert sorted(r.name for r in children) == sorted(f"{n} 2009Q3" for n in NAMES)
                assert all(r.state.is_completed() for r in children)
                owners = [client.read_task_run(r.parent_task_run_id).flow_run_id
                          for r in children]
                shard_ids = {o for o in owners if o != parent.id}
                assert owners.count(parent.id) == 2 and len(shard_ids) == 1
                (shard_id,) = shard_ids
                assert owners.count(shard_id) == 2
    finally:
        for _, proc in workers:
            proc.terminate()
        for _, proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    # Each worker started one of the two processes: the parent and the share.
    started = [set(re.findall(r"submitting flow run '([0-9a-f-]{36})'", log.read_text()))
               for log, _ in workers]
    assert all(len(s) == 1 for s in started), _tails(workers)
    assert set().union(*started) == {str(parent.id), str(shard_id)}

    for name in NAMES:
        manifest = tmp_path / "rapporter" / name.lower() / "2009Q3" / "manifest.json"
        assert json.loads(manifest.read_text())["version"] == 1
    summary = json.loads((tmp_path / "drift/oversigt/2009Q3/oversigt.json").read_text())
    assert summary["counts"] == {"udgivet": 4, "blokeret": 0, "fejl": 0}
    assert [i["name"] for i in summary["inboxes"]] == NAMES
    # one run of the register publishes each inbox as its own run does: same figures
    first = (tmp_path / "rapporter/vejle/2009Q3/fulfilment.json").read_bytes()
    assert all((tmp_path / "rapporter" / n.lower() / "2009Q3/fulfilment.json").read_bytes()
               == first for n in NAMES)


def _tails(workers: list[tuple[Path, subprocess.Popen[bytes]]]) -> str:
    return "\n\n".join(log.read_text()[-3000:] for log, _ in workers)
