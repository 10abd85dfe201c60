"""A mail server that is down does not undo a publication: the report is out, the command
exits 0 and says the mail failed; nobody is recorded as mailed, and the next run, with the
server back, mails what was missed, once."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "flow" / "inbox"


def test_publication_stands_when_the_mail_server_is_down(tmp_path, prefect_api, smtp):
    inbox = tmp_path / "inbox"
    shutil.copytree(DATA, inbox)
    (inbox / "2009Q3" / "afvigelser.csv").write_text(
        "Fil;Celle;Regel;Begrundelse;Godkendt af\n"
        "2009Q3/centre.csv;D3;ikke_tal;Tastefejl;Operatør Olsen\n",
        encoding="utf-8",
    )
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    env = dict(
        os.environ,
        PREFECT_API_URL=prefect_api,
        KVARTAL_SMTP_HOST="127.0.0.1",
        KVARTAL_SMTP_PORT=str(dead_port),
        KVARTAL_SMTP_FROM="kvartal@kommune.example",
        KVARTAL_RECIPIENTS="*=udvalg@kommune.example",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "run",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(inbox),
            "--publish-to",
            str(tmp_path / "published"),
            "--review-to",
            str(tmp_path / "review"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "published" / "2009Q3" / "manifest.json").is_file()
    assert "E-mail til modtagerne mislykkedes" in done.stderr
    assert not (tmp_path / "review" / "deliveries").exists()

    # the mail server is back: the next run (same inputs, nothing to publish) mails once
    mail, settings = smtp
    env["KVARTAL_SMTP_PORT"] = str(settings.port)
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "run",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(inbox),
            "--publish-to",
            str(tmp_path / "published"),
            "--review-to",
            str(tmp_path / "review"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "allerede udgivet" in again.stdout
    assert [(rcpts, m["Subject"]) for rcpts, m in mail.messages] == [
        (["udvalg@kommune.example"], "Status 3. kvartal 2009, version 1")
    ]
    assert len(list((tmp_path / "review" / "deliveries" / "2009Q3" / "v1").iterdir())) == 1


# two runs at once; a ledger lost right after the mail server's acceptance ------------------

TO = "udvalg@kommune.example"
OPERATOR = "drift@kommune.example"


def _waived_inbox(root: Path) -> Path:
    inbox = root / "inbox"
    shutil.copytree(DATA, inbox)
    (inbox / "2009Q3" / "afvigelser.csv").write_text(
        "Fil;Celle;Regel;Begrundelse;Godkendt af\n"
        "2009Q3/centre.csv;D3;ikke_tal;Tastefejl;Operatør Olsen\n",
        encoding="utf-8",
    )
    return inbox


def _command(inbox: Path, publish_to: str, review_to: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kvartal.cli",
        "run",
        "--quarter",
        "2009Q3",
        "--inbox",
        str(inbox),
        "--publish-to",
        publish_to,
        "--review-to",
        review_to,
    ]


def _mail_env(prefect_api: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVARTAL_FAULT")}
    return {
        **env,
        "PREFECT_API_URL": prefect_api,
        "KVARTAL_SMTP_HOST": "127.0.0.1",
        "KVARTAL_SMTP_PORT": str(port),
        "KVARTAL_SMTP_FROM": "kvartal@kommune.example",
        "KVARTAL_RECIPIENTS": f"*={TO}",
        **extra,
    }


def test_two_runs_at_once_mail_each_recipient_once(tmp_path: Path, prefect_api: str) -> None:
    """The first run's mail is accepted but its answer held back while a second run with
    the same inputs runs from start to end: the second finds the first's claim and sends
    nothing; the first, answered, records it. One mail."""
    import threading

    from tests.support.slow_smtp import slow_smtp

    inbox = _waived_inbox(tmp_path)
    cmd = _command(inbox, str(tmp_path / "published"), str(tmp_path / "review"))
    accepted = threading.Event()
    with slow_smtp(80, 600, on_accept=lambda rcpts: accepted.set()) as (mail, settings):
        mail.gate = threading.Event()
        env = _mail_env(prefect_api, settings.port)
        first = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert accepted.wait(120), "the first run never reached the mail server"
            second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
            mail.gate.set()  # the first run hears its answer only now
            out, err = first.communicate(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode == 0, err[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    assert "allerede udgivet" in second.stdout
    assert "sendes af en anden kørsel" in second.stderr + second.stdout
    assert [(rcpts, m["Subject"]) for rcpts, m in mail.messages] == [
        ([TO], "Status 3. kvartal 2009, version 1")
    ]
    v1 = tmp_path / "review" / "deliveries" / "2009Q3" / "v1"
    assert [p.name for p in v1.iterdir()] == [p.name for p in v1.glob("*.json")]  # no claims
    assert len(list(v1.iterdir())) == 1


def test_a_ledger_lost_after_the_accept_fails_the_run_loudly(
    tmp_path: Path, prefect_api: str, s3_env: str
) -> None:
    """The review location (S3 behind a fault proxy) goes down the moment the mail server
    accepts the recipient's mail: the run exits 1 with an ERROR line and the operators are
    told. The next run, with the storage back, cannot see that mail: by the documented rule
    it tells the operators and sends it again with the same Message-ID, and records it."""
    import boto3

    from kvartal.notify import ledger_key
    from tests.support.faultproxy import fault_proxy
    from tests.support.slow_smtp import slow_smtp

    inbox = _waived_inbox(tmp_path)
    cmd = _command(inbox, str(tmp_path / "published"), f"{s3_env}/review")
    with fault_proxy(os.environ["AWS_ENDPOINT_URL_S3"]) as proxy:

        def outage(rcpts: list[str]) -> None:
            if rcpts == [TO]:
                proxy.down_after(0)

        with slow_smtp(0, 600, on_accept=outage) as (mail, settings):
            env = _mail_env(
                prefect_api,
                settings.port,
                AWS_ENDPOINT_URL_S3=proxy.endpoint,
                KVARTAL_OPERATOR_EMAILS=OPERATOR,
                KVARTAL_S3_MAX_ATTEMPTS="2",
            )
            lost = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
            assert lost.returncode == 1, lost.stderr[-3000:]
            assert "ERROR" in lost.stderr and "E-mail til modtagerne mislykkedes" in lost.stderr
            assert "kunne ikke noteres" in lost.stderr
            assert (tmp_path / "published" / "2009Q3" / "manifest.json").is_file()
            to_recipient = [m for rcpts, m in mail.messages if rcpts == [TO]]
            to_operators = [m for rcpts, m in mail.messages if rcpts == [OPERATOR]]
            assert len(to_recipient) == 1
            assert [m["Subject"] for m in to_operators] == [
                "kvartal: mail om 3. kvartal 2009 kunne ikke noteres"
            ]
            assert f"- {TO}, version 1: mailen blev sendt" in to_operators[0].get_content()

            proxy.down_after(None)  # the storage is back
            mail.on_accept = None
            again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
            assert again.returncode == 0, again.stderr[-3000:]
            assert "Ukendt udfald af mail" in again.stderr
            to_recipient = [m for rcpts, m in mail.messages if rcpts == [TO]]
            to_operators = [m for rcpts, m in mail.messages if rcpts == [OPERATOR]]
            assert len(to_recipient) == 2
            assert to_recipient[0]["Message-ID"] == to_recipient[1]["Message-ID"]
            assert [m["Subject"] for m in to_operators][1:] == [
                "kvartal: mail om 3. kvartal 2009 sendt igen (ukendt udfald)"
            ]
            bucket, prefix = s3_env.removeprefix("s3://").split("/", 1)
            listed = boto3.client("s3").list_objects_v2(
                Bucket=bucket, Prefix=f"{prefix}/review/deliveries"
            )
            keys = [o["Key"].removeprefix(f"{prefix}/review/") for o in listed["Contents"]]
            # the record, and no claim left: a later run mails nobody
            assert keys == [ledger_key("2009Q3", 1, TO)]
