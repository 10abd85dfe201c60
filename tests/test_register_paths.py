"""A register's quarter and a backfill, run in this process on the tests' Prefect API
(`prefect_test_harness`), with local folders and mail to aiosmtpd on loopback.

Inboxes are copies of tests/data/flow/inbox: 2009Q2 is clean; 2009Q3 has one error (`1.5`
in cell D3 of 2009Q3/centre.csv) unless the copy corrects it to `15`.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from tests.support import flowrun
from tests.support.lost_answer import lose_first_answer

FLOW_INBOX = Path(__file__).parent / "data" / "flow" / "inbox"


def _inbox(where: Path, corrected: bool = False) -> str:
    shutil.copytree(FLOW_INBOX, where)
    if corrected:
        centre = where / "2009Q3" / "centre.csv"
        centre.write_text(centre.read_text("utf-8").replace(";1.5;", ";15;"), "utf-8")
    return str(where)


def _entry(root: Path, name: str, corrected: bool = False) -> dict[str, str]:
    return {
        "name": name,
        "inbox": _inbox(root / "inbox" / name, corrected),
        "publish_to": str(root / "published" / name),
        "review_to": str(root / "review" / name),
        "review_url": "",
    }


def test_a_register_publishes_blocks_and_fails_each_inbox_on_its_own(prefect_api, tmp_path):
    """Ribe's quarter has an error, Tønder's is corrected, Vejen's review location lies
    inside its publish location: one line each, in the register's order, and the overview."""
    from flows.quarterly_reports import quarterly_reports

    vejen = _entry(tmp_path, "Vejen", corrected=True)
    vejen["review_to"] = vejen["publish_to"] + "/gennemsyn"
    register = {
        "summary_to": str(tmp_path / "drift"),
        "source": "syd.toml",
        "inboxes": [_entry(tmp_path, "Ribe"), _entry(tmp_path, "Tønder", corrected=True), vejen],
    }
    outcomes = quarterly_reports(inbox_register=register, quarter="2009Q3")

    assert [(o["name"], o["status"]) for o in outcomes] == [
        ("Ribe", "blokeret"),
        ("Tønder", "udgivet"),
        ("Vejen", "fejl"),
    ]
    assert outcomes[0]["errors"] == 1
    assert outcomes[1]["version"] == 1
    assert outcomes[2]["reason"].startswith(
        f"Gennemsynsstedet ({vejen['review_to']}) ligger i modtagernes udgivelsessted"
    )
    assert (tmp_path / "published" / "Tønder" / "2009Q3" / "manifest.json").is_file()
    assert not (tmp_path / "published" / "Ribe" / "2009Q3").exists()
    summary = json.loads((tmp_path / "drift" / "2009Q3" / "oversigt.json").read_text("utf-8"))
    assert summary["counts"] == {"udgivet": 1, "blokeret": 1, "fejl": 1}
    assert summary["register"] == "syd.toml"
    assert (tmp_path / "drift" / "2009Q3" / "oversigt.html").is_file()


@pytest.fixture
def deployments(prefect_api, mail, tmp_path):
    """The single-inbox and the share's deployments, as `kvartal deploy` makes them for a
    register, on the test API; no worker serves them."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from flows.quarterly import quarterly_report
    from flows.quarterly_reports import quarterly_reports_shard

    name = f"test-{uuid.uuid4().hex[:8]}"
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results")}):
        quarterly_report.to_deployment(name=name).apply()
        quarterly_reports_shard.to_deployment(name=name).apply()
        yield {
            "single": f"quarterly-report/{name}",
            "shard": f"quarterly-reports-shard/{name}",
        }


def test_a_blocked_inbox_waits_in_a_run_of_its_own_and_its_line_follows_the_decision(
    deployments, mail, tmp_path, monkeypatch
):
    """Two shares and no worker: the parent takes the second share back and runs it. Ribe
    is blocked, so a run of the single-inbox deployment waits for the operator; the
    overview says so, and once that run is approved and published, the overview says that.
    The answers to the share's and the waiting run's creation and to the share's
    cancellation are lost once each (Prefect's client sends them again): still one share,
    taken back and run, and one waiting run."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterName,
    )

    from flows.quarterly_reports import quarterly_reports

    drift = tmp_path / "drift"
    register = {
        "summary_to": str(drift),
        "inboxes": [_entry(tmp_path, "Ribe"), _entry(tmp_path, "Tønder", corrected=True)],
    }
    shares_lost = lose_first_answer(monkeypatch, "POST", "/create_flow_run", b'del 2"')
    waiting_lost = lose_first_answer(monkeypatch, "POST", "/create_flow_run", b"(godkendelse)")
    taking_lost = lose_first_answer(monkeypatch, "POST", "/set_state", b"ingen worker")
    outcomes = quarterly_reports(
        inbox_register=register,
        quarter="2009Q3",
        shards=2,
        shard_deployment=deployments["shard"],
        approval_deployment=deployments["single"],
    )
    assert [(o["name"], o["status"]) for o in outcomes] == [
        ("Ribe", "blokeret"),
        ("Tønder", "udgivet"),
    ]
    assert outcomes[0]["reason"] == (
        "venter på en operatørs godkendelse i kørslen Ribe 2009Q3 (godkendelse)"
    )
    with get_client(sync_client=True) as client:
        # this test's share: other tests on the same API run shares of the same name
        shard = client.read_deployment_by_name(deployments["shard"])
        (share,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=["2009Q3 del 2"]),
                deployment_id=FlowRunFilterDeploymentId(any_=[shard.id]),
            )
        )
        assert share.state.is_cancelled()  # taken back: Tønder ran in the parent
        assert shares_lost and waiting_lost  # both creations were sent twice
        assert taking_lost  # and so was the share's cancellation
        single = client.read_deployment_by_name(deployments["single"])
        waiting_runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[single.id]))
        )
        assert [r.name for r in waiting_runs] == ["Ribe 2009Q3 (godkendelse)"]
        # the mail server has a concurrency limit of its own, made with the default size 2
        limit = client.read_global_concurrency_limit_by_name("kvartal-smtp-127.0.0.1")
        assert limit.limit == 2

    waiting = uuid.UUID(outcomes[0]["flow_run_id"])
    assert flowrun.read(waiting).parameters["summary_to"] == str(drift)
    assert flowrun.execute(waiting).state.name == "Suspended"
    verdict = flowrun.answer(
        waiting,
        beslutning="godkend",
        afvigelser=["2009Q3/centre.csv:D3:ikke_tal"],
        begrundelse="tastefejl",
        godkendt_af="Olsen",
    )
    assert verdict == "ACCEPT"
    assert flowrun.execute(waiting).state.is_completed()
    assert (tmp_path / "published" / "Ribe" / "2009Q3" / "manifest.json").is_file()
    summary = json.loads((drift / "2009Q3" / "oversigt.json").read_text("utf-8"))
    ribe = summary["inboxes"][0]
    assert (ribe["name"], ribe["status"], ribe["version"]) == ("Ribe", "udgivet", 1)
    assert summary["counts"] == {"udgivet": 2, "blokeret": 0, "fejl": 0}


def test_a_share_run_elsewhere_is_read_back_from_its_table(deployments, tmp_path):
    """A share a worker ran (executed here as the worker would): the parent reads its
    inboxes' outcomes from the share's table; an inbox missing from it is a failure."""
    from flows.quarterly_reports import collect_shard
    from kvartal.quarters import Quarter
    from kvartal.register import InboxEntry

    tonder = _entry(tmp_path, "Tønder", corrected=True)
    run = flowrun.create(deployments["shard"], {"inboxes": [tonder], "quarter": "2009Q3"})
    assert flowrun.execute(run).state.is_completed()

    ghost = InboxEntry("Ghost", "x", "y", "z")
    outcomes = collect_shard(run, [InboxEntry(**tonder), ghost], Quarter(2009, 3), 0.1)
    assert [(o.name, o.status, o.version) for o in outcomes] == [
        ("Tønder", "udgivet", 1),
        ("Ghost", "fejl", None),
    ]
    assert outcomes[1].reason.endswith("endte som Completed uden et resultat for denne indbakke")


def test_a_backfill_publishes_each_quarter_in_order_and_reports_a_blocked_one(
    prefect_api, tmp_path
):
    from flows.backfill import backfill

    inbox = _inbox(tmp_path / "inbox")
    places = {"publish_to": str(tmp_path / "published"), "review_to": str(tmp_path / "review")}
    outcomes = backfill(first="2009Q2", last="2009Q3", inbox=inbox, **places)
    assert [(o["name"], o["status"], o["version"]) for o in outcomes] == [
        ("2009Q2", "udgivet", 1),
        ("2009Q3", "blokeret", None),
    ]
    assert (tmp_path / "published" / "2009Q2" / "manifest.json").is_file()
    assert not (tmp_path / "published" / "2009Q3").exists()


def test_a_reversed_backfill_span_is_refused_in_danish():
    from flows.backfill import quarters_between

    with pytest.raises(ValueError) as refused:
        quarters_between("2009Q3", "2009Q2")
    assert str(refused.value) == (
        "--from 2009Q3 ligger efter --to 2009Q2; angiv det første kvartal i --from "
        "og det sidste i --to"
    )
    assert [str(q) for q in quarters_between("2008Q4", "2009Q2")] == [
        "2008Q4",
        "2009Q1",
        "2009Q2",
    ]
