"""The register's deployment as operators run it: `prefect server` on PostgreSQL, `kvartal
deploy --register`, two `--limit 1` workers in folders of their own, five inboxes of which
two are blocked. Every correct inbox is published; each blocked inbox waits Suspended in a
top-level run of its own, through a killed worker and a restarted server; one is approved
and publishes, one is rejected; every mail and the overview name the right inbox and link
its own validation report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.operations import Operations, kill, wait_for

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "inbox"
NAMES = ["Vejle", "Horsens", "Kolding"]
BLOCKED = ["Vejen", "Billund"]  # in register order: 4th and 5th
CPH = "Europe/Copenhagen"
POOL = "kvartal-register"
REVIEW_URL = "https://drift.kommune.example/kvartal"
BAD_KEY = "2009Q3/BIF Stab.csv:D2:ikke_tal"


def _register(tmp_path: Path) -> None:
    """Five inboxes; review_to left to the default (KVARTAL_REVIEW_TO/<name>)."""
    lines = ['summary_to = "drift/oversigt"']
    for name in [*NAMES, *BLOCKED]:
        folder = tmp_path / "indbakker" / name.lower()
        shutil.copytree(EXAMPLE, folder)
        if name in BLOCKED:
            bad = folder / "2009Q3" / "BIF Stab.csv"
            bad.write_text(
                bad.read_text("utf-8-sig").replace(
                    "1.7,kursister,2009Q3,26,", "1.7,kursister,2009Q3,abc,", 1
                ),
                "utf-8-sig",
            )
        lines += [
            "[[inbox]]",
            f'name = "{name}"',
            f'inbox = "indbakker/{name.lower()}"',
            f'publish_to = "rapporter/{name.lower()}"',
        ]
    (tmp_path / "kommuner.toml").write_text("\n".join(lines) + "\n", "utf-8")


def _worker(ops: Operations, n: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`prefect worker start --pool … --limit 1` in a folder of its own."""
    folder = ops.root.parent / f"worker{n}"
    folder.mkdir(exist_ok=True)
    log = (ops.root / f"worker-{len(ops.workers)}.log").open("ab")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "worker", "start"]
        + ["--pool", POOL, "--name", f"w{n}", "--limit", "1"],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=ops.env(**env),
        start_new_session=True,
    )
    ops.workers.append(proc)
    return proc


def _client(ops: Operations) -> Any:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: ops.api_url}):
        return get_client(sync_client=True)


def _runs(ops: Operations) -> dict[str, Any]:
    with _client(ops) as client:
        return {r.name: r for r in client.read_flow_runs()}


def _mails(mailbox: Any, part: str) -> list[Any]:
    return [m for _, m in mailbox.messages if part in m["Subject"]]


def test_two_workers_share_the_register_and_each_blocked_inbox_waits_for_its_own_decision(
    operations, smtp, tmp_path
):
    ops, (mailbox, smtp_settings) = operations, smtp
    _register(tmp_path)
    made = ops.prefect("work-pool", "create", POOL, "--type", "process")
    assert made.returncode == 0, made.stdout + made.stderr
    env = {
        "KVARTAL_REVIEW_TO": str(tmp_path / "drift"),
        "KVARTAL_SMTP_HOST": "127.0.0.1",
        "KVARTAL_SMTP_PORT": str(smtp_settings.port),
        "KVARTAL_SMTP_FROM": "kvartal@kommune.example",
        "KVARTAL_OPERATOR_EMAILS": "drift@kommune.example",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
    }
    deployed = ops.kvartal(
        "deploy",
        "--register",
        "kommuner.toml",
        "--work-pool",
        POOL,
        cwd=tmp_path,
        KVARTAL_SHARDS="2",
        KVARTAL_REVIEW_URL=REVIEW_URL,
        KVARTAL_APPROVAL_TIMEOUT="86400",
        **{k: v for k, v in env.items() if k.startswith("KVARTAL_REVIEW")},
    )
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    for name in (
        "quarterly-reports/kommuner",
        "quarterly-reports-shard/kommuner",
        "quarterly-report/kommuner-godkendelse",
        "approval-deadline/kvartal-frist",
    ):
        assert f"{name} registreret" in deployed.stdout, deployed.stdout

    # the workers know nothing of the review URL or the deadline: the deployment does
    workers = [_worker(ops, n, env) for n in (1, 2)]
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: ops.api_url}):
        parent = run_deployment(
            "quarterly-reports/kommuner",
            timeout=0,
            parameters={"quarter": "2009Q3"},
            as_subflow=False,
        )

    def logs() -> str:
        return ops.worker_logs()

    def final(run_id: Any) -> Any:
        with _client(ops) as client:
            state = client.read_flow_run(run_id).state
        return state if state is not None and state.is_final() else None

    state = wait_for("the register's run to finish", lambda: final(parent.id), 600, logs)
    assert state.is_completed(), (state, logs()[-6000:])

    def both_suspended() -> Any:
        runs = _runs(ops)
        waiting = [runs.get(f"{n} 2009Q3 (godkendelse)") for n in BLOCKED]
        if all(r is not None and r.state.name == "Suspended" for r in waiting):
            return waiting
        failed = [r for r in waiting if r is not None and r.state.is_final()]
        assert not failed, (failed, logs()[-6000:])
        return None

    vejen, billund = wait_for("both blocked inboxes to wait", both_suspended, 300, logs)
    for run in (vejen, billund):
        assert run.parent_task_run_id is None  # a top-level run: it can be suspended
        assert run.parameters["approval_timeout"] == 86400  # fixed at deploy time

    # each blocked inbox's mail names it and links its own validation report and run
    for name, run in (("Vejen", vejen), ("Billund", billund)):
        (told,) = _mails(mailbox, f"venter på godkendelse: {name}, 3. kvartal 2009")
        text = told.get_content()
        assert text.startswith(f"Kørslen for {name}, 3. kvartal 2009 har 1 fejl")
        assert f"- {BAD_KEY}: " in text
        assert f"Valideringsrapport: {REVIEW_URL}/{name.lower()}/2009Q3/validation.html" in text
        assert f"{ops.ui_url}/runs/flow-run/{run.id}" in text
    assert len(_mails(mailbox, "venter på godkendelse")) == 2

    # the overview, as the register's run wrote it: waiting, with a link to each run
    overview = tmp_path / "drift/oversigt/2009Q3/oversigt.json"
    summary = json.loads(overview.read_text())
    assert summary["counts"] == {"udgivet": 3, "blokeret": 2, "fejl": 0}
    rows = {i["name"]: i for i in summary["inboxes"]}
    for name, run in (("Vejen", vejen), ("Billund", billund)):
        assert rows[name]["review"] == f"{REVIEW_URL}/{name.lower()}/2009Q3/validation.html"
        assert rows[name]["run_url"] == f"{ops.ui_url}/runs/flow-run/{run.id}"
        assert "venter på en operatørs godkendelse" in rows[name]["reason"]

    # nothing holds the decisions: a worker killed, the server restarted
    kill(workers[0])
    ops.stop_server()
    ops.start_server()
    with _client(ops) as client:
        assert client.read_flow_run(vejen.id).state.name == "Suspended"
        assert client.read_flow_run(billund.id).state.name == "Suspended"
        approved = client.resume_flow_run(
            vejen.id,
            run_input={
                "beslutning": "godkend",
                "afvigelser": [BAD_KEY],
                "begrundelse": "Centret bekræfter tastefejlen",
                "godkendt_af": "Operatør Olsen",
            },
        )
        assert approved.status.value == "ACCEPT", approved
        rejected = client.resume_flow_run(
            billund.id,
            run_input={
                "beslutning": "afvis",
                "afvigelser": [],
                "begrundelse": "Centret retter filen",
                "godkendt_af": "Operatør Hansen",
            },
        )
        assert rejected.status.value == "ACCEPT", rejected
    _worker(ops, 3, env)
    vejen_end = wait_for("Vejen's run to end", lambda: final(vejen.id), 420, logs)
    billund_end = wait_for("Billund's run to end", lambda: final(billund.id), 420, logs)
    assert vejen_end.is_completed(), (vejen_end, logs()[-6000:])
    assert (billund_end.type.value, billund_end.name) == ("FAILED", "Afvist")
    assert billund_end.message.startswith("Billund, 3. kvartal 2009: udgivelsen er afvist")

    manifest = json.loads((tmp_path / "rapporter/vejen/2009Q3/manifest.json").read_text())
    assert [w["approved_by"] for w in manifest["waivers"]] == ["Operatør Olsen"]
    assert not (tmp_path / "rapporter/billund").exists()
    for name in NAMES:
        manifest = json.loads(
            (tmp_path / f"rapporter/{name.lower()}/2009Q3/manifest.json").read_text()
        )
        assert manifest["version"] == 1
    assert _mails(mailbox, "kvartal: Vejen, 3. kvartal 2009 godkendt af Operatør Olsen")
    assert _mails(mailbox, "kvartal: Billund, 3. kvartal 2009 afvist af Operatør Hansen")
    assert not _mails(mailbox, "er fejlet")

    # the overview follows each decision
    def decided() -> Any:
        rows = {i["name"]: i for i in json.loads(overview.read_text())["inboxes"]}
        return (
            rows
            if rows["Vejen"]["status"] == "udgivet"
            and "afvist" in (rows["Billund"]["reason"] or "")
            else None
        )

    rows = wait_for("the overview to show both decisions", decided, 60, logs)
    assert rows["Vejen"]["version"] == 1
    assert rows["Billund"]["status"] == "blokeret"
    assert json.loads(overview.read_text())["counts"] == {"udgivet": 4, "blokeret": 1, "fejl": 0}
    html = (tmp_path / "drift/oversigt/2009Q3/oversigt.html").read_text()
    assert f'href="{ops.ui_url}/runs/flow-run/{billund.id}"' in html
    assert re.search(r"Dannet \d\d\.\d\d\.\d{4} kl\. \d\d:\d\d", html)

    # the decided runs' deadline runs are cancelled, not left scheduled for a day
    with _client(ops) as client:
        deadlines = [
            r
            for r in client.read_flow_runs()
            if r.parameters.get("flow_run_id") in {str(vejen.id), str(billund.id)}
        ]
    assert len(deadlines) == 2 and all(r.state.is_cancelled() for r in deadlines)
    # the two processes of the register's run were started by two workers
    started = [
        set(re.findall(r"Flow run '(.+?)' submitted to infrastructure", ops.log(f"worker-{i}.log")))
        for i in (0, 1)
    ]
    assert all(started), logs()[-3000:]
