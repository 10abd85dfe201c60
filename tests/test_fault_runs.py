"""Real `kvartal run`s SIGKILLed at write boundaries (local folder and S3 on moto), mail to
a loopback SMTP server: no run needs a person to clean up, and every recipient hears of
every published version exactly once.

The kill comes from the storage layer (KVARTAL_FAULT_KILL_AT, a pattern for the write
boundary); see tests/test_faults.py for the exhaustive version over the publish function.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from kvartal.notify import SmtpSettings
from kvartal.publish import latest_version
from kvartal.storage import Storage, open_storage
from tests.support.consistency import (
    copy_holds,
    folders,
    local_debris,
    manifest_violations,
    violations,
)
from tests.support.smtp import Inbox

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "flow" / "inbox"
WAIVER = (
    "Fil;Celle;Regel;Begrundelse;Godkendt af\n"
    "2009Q3/centre.csv;D3;ikke_tal;Tastefejl;Operatør Olsen\n"
)
TO = "udvalg@kommune.example"


def _inbox(root: Path, corrected: bool) -> Path:
    """The test inbox made publishable: its error waived, or corrected in the file."""
    inbox = root / ("corrected" if corrected else "waived")
    shutil.copytree(DATA, inbox)
    figures = inbox / "2009Q3" / "centre.csv"
    if corrected:
        figures.write_text(
            figures.read_text(encoding="utf-8").replace(";1.5;", ";2;"), encoding="utf-8"
        )
    else:
        (inbox / "2009Q3" / "afvigelser.csv").write_text(WAIVER, encoding="utf-8")
    return inbox


def _env(prefect_api: str, smtp_settings: SmtpSettings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVARTAL_FAULT")}
    return {
        **env,
        "PREFECT_API_URL": prefect_api,
        "KVARTAL_SMTP_HOST": "127.0.0.1",
        "KVARTAL_SMTP_PORT": str(smtp_settings.port),
        "KVARTAL_SMTP_FROM": "kvartal@kommune.example",
        "KVARTAL_RECIPIENTS": f"*={TO}",
        **extra,
    }


def _run(
    env: dict[str, str], inbox: str, publish_to: str, review_to: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "run",
            "--quarter",
            "2009Q3",
            "--inbox",
            inbox,
            "--publish-to",
            publish_to,
            "--review-to",
            review_to,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


class Poller:
    """A reader polling the quarter while runs publish: manifest, its files, manifest again;
    files that disagree with a manifest that stayed put are a mixed view."""

    def __init__(self, storage: Storage) -> None:
        self.storage, self.seen, self.reads = storage, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for folder in folders(self.storage, "2009Q3"):
                try:
                    before = self.storage.read(f"{folder}/manifest.json")
                    problems = manifest_violations(self.storage, folder)
                    after = self.storage.read(f"{folder}/manifest.json")
                except FileNotFoundError:
                    continue
                self.reads += 1
                if problems and before == after:
                    self.seen.extend(problems)
            self._stop.wait(0.05)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        assert self.reads > 0
        return self.seen


def _mails(inbox: Inbox) -> list[tuple[str, str]]:
    return sorted((rcpts[0], str(m["Subject"])) for rcpts, m in inbox.messages)


def test_killed_runs_then_corrected_inputs_publish_and_mail_once(
    tmp_path: Path, prefect_api: str, smtp: tuple[Inbox, SmtpSettings]
) -> None:
    mail, smtp_settings = smtp
    published, review = tmp_path / "published", tmp_path / "review"
    waived, corrected = _inbox(tmp_path, False), _inbox(tmp_path, True)
    storage = open_storage(str(published))

    # 1. killed with version 1's files written (staged) but not decided (issue: needed hands)
    first = _run(
        _env(
            prefect_api,
            smtp_settings,
            KVARTAL_FAULT_KILL_AT=("write */published/.kvartal/staging/2009Q3/v1/*/report.xlsx"),
        ),
        str(waived),
        str(published),
        str(review),
    )
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    assert any(k.endswith("/report.xlsx") for k in storage.list(".kvartal/staging/2009Q3/v1"))
    assert latest_version(storage, "2009Q3") is None and violations(storage, "2009Q3") == []

    # 2. corrected inputs take the abandoned number over; killed after the index, before mail
    poller = Poller(storage)
    second = _run(
        _env(prefect_api, smtp_settings, KVARTAL_FAULT_KILL_AT="write */published/index.html"),
        str(corrected),
        str(published),
        str(review),
    )
    assert second.returncode == -signal.SIGKILL, second.stderr[-3000:]
    latest = latest_version(storage, "2009Q3")
    assert latest is not None and latest[0] == 1 and latest[1]["waivers"] == []
    assert violations(storage, "2009Q3") == [] and mail.messages == []

    # 3. the same corrected inputs: nothing new to publish, but the missed mail goes out
    third = _run(_env(prefect_api, smtp_settings), str(corrected), str(published), str(review))
    assert poller.stop() == []
    assert third.returncode == 0, third.stderr[-3000:]
    assert "allerede udgivet" in third.stdout
    assert _mails(mail) == [(TO, "Status 3. kvartal 2009, version 1")]
    assert copy_holds(storage, "2009Q3", 1)
    assert violations(storage, "2009Q3") == []
    assert local_debris(published) == [] and local_debris(review) == []
    fulfilment = json.loads(storage.read("2009Q3/fulfilment.json"))
    assert fulfilment["version"] == 1


def test_s3_run_killed_mid_copy_is_finished_and_mailed_once(
    s3_env: str, prefect_api: str, smtp: tuple[Inbox, SmtpSettings], tmp_path: Path
) -> None:
    mail, smtp_settings = smtp
    bucket, prefix = s3_env.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3")
    inbox = _inbox(tmp_path, False)
    for path in inbox.rglob("*"):
        if path.is_file():
            s3.put_object(
                Bucket=bucket,
                Key=f"{prefix}/inbox/{path.relative_to(inbox).as_posix()}",
                Body=path.read_bytes(),
            )
    args = (f"{s3_env}/inbox", f"{s3_env}/published", f"{s3_env}/review")
    storage = open_storage(f"{s3_env}/published")

    # killed between taking the old manifest away and writing the copy's first file
    first = _run(
        _env(
            prefect_api,
            smtp_settings,
            KVARTAL_FAULT_KILL_AT=("delete s3://*/published/2009Q3/manifest.json"),
        ),
        *args,
    )
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    assert storage.exists("2009Q3/versions/1/manifest.json")
    assert not storage.exists("2009Q3/manifest.json")
    assert violations(storage, "2009Q3") == [] and mail.messages == []

    poller = Poller(storage)
    again = _run(_env(prefect_api, smtp_settings), *args)
    assert poller.stop() == []
    assert again.returncode == 0, again.stderr[-3000:]
    assert copy_holds(storage, "2009Q3", 1)
    assert violations(storage, "2009Q3") == []
    assert storage.exists("index.html")
    assert _mails(mail) == [(TO, "Status 3. kvartal 2009, version 1")]
