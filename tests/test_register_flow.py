"""The parent flow when no worker takes a share: it takes the share back and runs it.

Against the tests' Prefect API; the share's deployment is on a work pool with no worker,
as on a site with fewer free workers than `KVARTAL_SHARDS`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "inbox"


def test_a_share_no_worker_takes_is_run_by_the_parent(prefect_api, tmp_path):
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from deployments.register import register_deployments
    from flows.quarterly_reports import quarterly_reports
    from kvartal.register import RegisterDefaults, load_register

    lines = [f'summary_to = "{tmp_path / "drift"}"']
    for name in ("Ribe", "Tønder"):
        shutil.copytree(EXAMPLE, tmp_path / name)
        lines += [
            "[[inbox]]",
            f'name = "{name}"',
            f'inbox = "{name}"',
            f'publish_to = "pub/{name}"',
            f'review_to = "rev/{name}"',
        ]
    (tmp_path / "sydjylland.toml").write_text("\n".join(lines) + "\n", "utf-8")
    register = load_register(
        tmp_path / "sydjylland.toml", RegisterDefaults(str(tmp_path / "drift"), "")
    )
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="uden-workere", type="process"))
    for deployment in register_deployments(register, "uden-workere", shards=2):
        deployment.apply()

    outcomes = quarterly_reports(
        inbox_register=register.to_dict(),
        quarter="2009Q3",
        shards=2,
        shard_deployment="quarterly-reports-shard/sydjylland",
    )

    assert [(o["name"], o["status"], o["version"]) for o in outcomes] == [
        ("Ribe", "udgivet", 1),
        ("Tønder", "udgivet", 1),
    ]
    for name in ("Ribe", "Tønder"):
        assert (tmp_path / "pub" / name / "2009Q3" / "manifest.json").is_file()
    summary = json.loads((tmp_path / "drift" / "2009Q3" / "oversigt.json").read_text())
    assert summary["counts"] == {"udgivet": 2, "blokeret": 0, "fejl": 0}
    with get_client(sync_client=True) as client:
        (share,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["2009Q3 del 2"]))
        )
        assert share.state.is_cancelled()


def test_limits_per_s3_endpoint_and_mail_server_are_made_once(prefect_api, tmp_path, monkeypatch):
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    from flows.quarterly_reports import ensure_limits
    from kvartal.register import RegisterDefaults, parse_register

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("KVARTAL_SMTP_HOST", "mail.kommune.example")
    monkeypatch.setenv("KVARTAL_S3_CONCURRENCY", "3")
    register = parse_register(
        'summary_to = "s3://drift/o"\n[[inbox]]\nname = "Ribe"\ninbox = "s3://ind/ribe"\n'
        'publish_to = "s3://ud/ribe"\nreview_to = "s3://drift/ribe"\n',
        source="r.toml",
        base=tmp_path,
        defaults=RegisterDefaults(str(tmp_path / "drift"), ""),
    )
    ensure_limits(register)
    s3_name, smtp_name = "kvartal-s3-http:_127.0.0.1:9", "kvartal-smtp-mail.kommune.example"
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(s3_name).limit == 3
        assert client.read_global_concurrency_limit_by_name(smtp_name).limit == 2
        # an administrator's change in the UI is kept by the next run
        client.update_global_concurrency_limit(s3_name, GlobalConcurrencyLimitUpdate(limit=8))
        ensure_limits(register)
        assert client.read_global_concurrency_limit_by_name(s3_name).limit == 8
