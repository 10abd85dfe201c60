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
