"""Delivery against a real SMTP server on loopback: one mail per recipient per version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kvartal.notify import (
    DeliveryError,
    NotifyError,
    SmtpSettings,
    deliver_owed,
    ledger_key,
    notify_publication,
    recipients_for,
    recipients_from_env,
    send_mail,
)
from kvartal.quarters import Quarter
from kvartal.storage import LocalStorage
from tests.support.smtp import Inbox, _free_port

COUNTS = {"achieved": 3, "on_track": 4, "at_risk": 1, "off_track": 2, "no_data": 1}
OFF = ["1.4 Ny jobbus i boligområderne (mål 1.4-a)", "1.2 Partnerskaber (mål 1.2-b)"]
LINKS = {
    "report.html": "https://s3.example.invalid/2009Q3/report.html?X-Amz-Signature=abc",
    "report.pdf": "https://s3.example.invalid/2009Q3/report.pdf?X-Amz-Signature=def",
}


def test_one_mail_per_recipient_and_none_on_retry(
    smtp: tuple[Inbox, SmtpSettings], tmp_path: Path
) -> None:
    inbox, settings = smtp
    ledger = LocalStorage(tmp_path / "review")
    to = ["a@x.dk", "b@x.dk", "A@x.dk"]  # the same person twice, differently cased
    sent = notify_publication(Quarter(2009, 3), 1, COUNTS, OFF, LINKS, to, ledger, settings)
    assert sent == ["a@x.dk", "b@x.dk"]
    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == ["a@x.dk", "b@x.dk"]

    again = notify_publication("2009Q3", 1, COUNTS, OFF, LINKS, to, ledger, settings)
    assert again == [] and len(inbox.messages) == 2  # a retry sends nothing

    keys = ledger.list("deliveries")
    assert keys == sorted([ledger_key("2009Q3", 1, "a@x.dk"), ledger_key("2009Q3", 1, "b@x.dk")])
    assert all(
        k.startswith("deliveries/2009Q3/v1/") and len(k.rsplit("/", 1)[1]) == 21 for k in keys
    )
    record = json.loads(ledger.read(keys[0]))
    assert record["version"] == 1 and record["quarter"] == "2009Q3"

    # a corrected quarter is a new version: everyone hears about it once more
    v2 = notify_publication("2009Q3", 2, COUNTS, OFF, LINKS, to, ledger, settings)
    assert v2 == ["a@x.dk", "b@x.dk"] and len(inbox.messages) == 4


def test_mail_says_quarter_counts_off_track_and_links(
    smtp: tuple[Inbox, SmtpSettings], tmp_path: Path
) -> None:
    inbox, settings = smtp
    notify_publication(
        "2009Q3", 1, COUNTS, OFF, LINKS, ["a@x.dk"], LocalStorage(tmp_path), settings
    )
    ((rcpts, msg),) = inbox.messages
    assert msg["Subject"] == "Status 3. kvartal 2009, version 1"
    assert msg["From"] == "kvartal@kommune.example" and msg["To"] == "a@x.dk"
    body = msg.get_content()
    for line in (
        "Statusrapporten for 3. kvartal 2009 er offentliggjort (version 1).",
        "Opfyldt: 3",
        "På sporet: 4",
        "I risiko: 1",
        "Bagud: 2",
        "Ingen data: 1",
        "Mål, der er bagud:",
        "- 1.4 Ny jobbus i boligområderne (mål 1.4-a)",
        "Rapporten (HTML): " + LINKS["report.html"],
        "Rapporten (PDF): " + LINKS["report.pdf"],
    ):
        assert line in body, line


def test_failed_recipient_is_retried_others_are_not(
    smtp: tuple[Inbox, SmtpSettings], tmp_path: Path
) -> None:
    inbox, settings = smtp
    ledger = LocalStorage(tmp_path)
    with pytest.raises(DeliveryError) as err:
        notify_publication(
            "2009Q3", 1, COUNTS, [], {}, ["a@x.dk", "ikke en adresse"], ledger, settings
        )
    assert err.value.sent == ["a@x.dk"] and list(err.value.failed) == ["ikke en adresse"]
    assert len(inbox.messages) == 1
    assert notify_publication("2009Q3", 1, COUNTS, [], {}, ["a@x.dk"], ledger, settings) == []


def test_unreachable_server_sends_nothing_and_records_nothing(tmp_path: Path) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=_free_port(), timeout=2)
    ledger = LocalStorage(tmp_path)
    with pytest.raises(DeliveryError):
        notify_publication("2009Q3", 1, COUNTS, [], {}, ["a@x.dk"], ledger, settings)
    assert ledger.list() == []


def test_login_when_a_user_is_configured(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    seen: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"hemmeligt")

    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1", port=controller.port, user="kvartal", password="hemmeligt", timeout=10
        )
        send_mail(settings, "a@x.dk", "Status 3. kvartal 2009, version 1", "Hej")
    finally:
        controller.stop()
    assert seen == [(b"kvartal", b"hemmeligt")] and len(inbox.messages) == 1
    assert "hemmeligt" not in repr(settings)


def test_header_injection_is_refused(smtp: tuple[Inbox, SmtpSettings]) -> None:
    inbox, settings = smtp
    with pytest.raises((ValueError, NotifyError)):
        send_mail(settings, "a@x.dk", "Status\r\nBcc: alle@x.dk", "tekst")
    with pytest.raises(NotifyError):
        send_mail(settings, "a@x.dk\r\nBcc: alle@x.dk", "Status", "tekst")
    assert inbox.messages == []


def test_settings_from_env() -> None:
    assert SmtpSettings.from_env({}) is None  # mail not configured: nobody is mailed
    s = SmtpSettings.from_env(
        {
            "KVARTAL_SMTP_HOST": "smtp.kommune.example",
            "KVARTAL_SMTP_USER": "u",
            "KVARTAL_SMTP_PASSWORD": "p",
            "KVARTAL_SMTP_STARTTLS": "1",
            "KVARTAL_SMTP_FROM": "status@kommune.example",
        }
    )
    assert s == SmtpSettings(
        host="smtp.kommune.example",
        port=25,
        user="u",
        password="p",
        starttls=True,
        sender="status@kommune.example",
    )
    s2 = SmtpSettings.from_env(
        {"KVARTAL_SMTP_HOST": "h", "KVARTAL_SMTP_PORT": "2525", "KVARTAL_SMTP_STARTTLS": "0"}
    )
    assert s2 is not None and s2.port == 2525 and not s2.starttls and s2.user is None


def test_recipients_from_env() -> None:
    env = {
        "KVARTAL_RECIPIENTS": (
            "Beskæftigelsesaftale 2009=a@x.dk, b@x.dk;*=c@x.dk; Budgetaftale 2014=d@x.dk,a@x.dk;"
        )
    }
    got = recipients_from_env(env)
    assert got == {
        "Beskæftigelsesaftale 2009": ["a@x.dk", "b@x.dk"],
        "*": ["c@x.dk"],
        "Budgetaftale 2014": ["d@x.dk", "a@x.dk"],
    }
    assert recipients_for(got, ["Beskæftigelsesaftale 2009"]) == ["c@x.dk", "a@x.dk", "b@x.dk"]
    assert recipients_for(got, ["Beskæftigelsesaftale 2009", "Budgetaftale 2014"]) == [
        "c@x.dk",
        "a@x.dk",
        "b@x.dk",
        "d@x.dk",
    ]
    assert recipients_from_env({}) == {}
    with pytest.raises(NotifyError):
        recipients_from_env({"KVARTAL_RECIPIENTS": "Aftale=ikke-en-adresse"})
    with pytest.raises(NotifyError):
        recipients_from_env({"KVARTAL_RECIPIENTS": "a@x.dk"})


@pytest.mark.slow
def test_settings_from_a_prefect_block(prefect_api: str) -> None:
    from prefect.blocks.system import Secret

    Secret(
        value={
            "host": "smtp.kommune.example",
            "port": 587,
            "user": "u",
            "password": "p",
            "starttls": True,
            "from": "status@kommune.example",
        }  # type: ignore[arg-type]
    ).save("kvartal-smtp-test", overwrite=True)
    s = SmtpSettings.from_env(
        {"KVARTAL_SMTP_BLOCK": "kvartal-smtp-test", "KVARTAL_SMTP_HOST": "ignored"}
    )
    assert s == SmtpSettings(
        host="smtp.kommune.example",
        port=587,
        user="u",
        password="p",
        starttls=True,
        sender="status@kommune.example",
    )


# what the ledger says is owed ---------------------------------------------------------------


def _published(root: Path, versions: dict[int, list[str]]) -> LocalStorage:
    """A publish location with these versions, each with its targets' statuses."""
    storage = LocalStorage(root)
    for n, statuses in versions.items():
        doc = {
            "quarter": "2009Q3",
            "version": n,
            "targets": [
                {"target_id": f"1.{i}-a", "initiative": f"1.{i}", "status": s}
                for i, s in enumerate(statuses, 1)
            ],
        }
        storage.write(f"2009Q3/versions/{n}/fulfilment.json", json.dumps(doc).encode())
        storage.write(f"2009Q3/versions/{n}/manifest.json", b"{}")
    storage.write("2009Q3/versions/3/fulfilment.json", b"{}")  # unfinished: no manifest
    return storage


def test_every_published_version_is_owed_once_to_every_recipient(
    smtp: tuple[Inbox, SmtpSettings], tmp_path: Path
) -> None:
    inbox, settings = smtp
    publish = _published(
        tmp_path / "published", {1: ["achieved", "off_track"], 2: ["achieved", "achieved"]}
    )
    ledger = LocalStorage(tmp_path / "review")
    # version 1 was mailed to a@ by the run that published it; nothing else was sent
    notify_publication("2009Q3", 1, {}, [], {}, ["a@x.dk"], ledger, settings)
    inbox.messages.clear()

    delivery = deliver_owed(
        publish,
        ledger,
        "2009Q3",
        ["a@x.dk", "b@x.dk"],
        settings,
        {"1.2-a": "Partnerskaber"},
        lambda key: f"https://x/{key}",
        ["report.html"],
    )
    assert delivery.sent == {1: ["b@x.dk"], 2: ["a@x.dk", "b@x.dk"]}
    got = sorted((rcpts[0], m["Subject"]) for rcpts, m in inbox.messages)
    assert got == [
        ("a@x.dk", "Status 3. kvartal 2009, version 2"),
        ("b@x.dk", "Status 3. kvartal 2009, version 1"),
        ("b@x.dk", "Status 3. kvartal 2009, version 2"),
    ]
    v1 = next(m for rcpts, m in inbox.messages if "version 1" in m["Subject"]).get_content()
    assert "Opfyldt: 1" in v1 and "Bagud: 1" in v1
    assert "- 1.2 Partnerskaber (1.2-a)" in v1
    assert "Rapporten (HTML): https://x/2009Q3/versions/1/report.html" in v1

    again = deliver_owed(
        publish,
        ledger,
        "2009Q3",
        ["a@x.dk", "b@x.dk"],
        settings,
        {},
        lambda key: key,
        ["report.html"],
    )
    assert again.sent == {} and len(inbox.messages) == 3


class LedgerDown(LocalStorage):
    """A review location that reads but cannot be written (storage outage, full disk)."""

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        raise OSError(28, "No space left on device")


def test_a_ledger_that_cannot_be_written_never_causes_a_second_mail(
    smtp: tuple[Inbox, SmtpSettings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kvartal.notify.time.sleep", lambda s: None)
    inbox, settings = smtp
    ledger = LedgerDown(tmp_path / "review")
    with pytest.raises(DeliveryError) as err:
        notify_publication("2009Q3", 1, COUNTS, [], {}, ["a@x.dk"], ledger, settings)
    assert err.value.sent == ["a@x.dk"]
    assert "sendt, men kunne ikke noteres" in err.value.failed["a@x.dk"]
    assert len(inbox.messages) == 1
    # the task's retry, in the same process: nobody is mailed twice
    assert notify_publication("2009Q3", 1, COUNTS, [], {}, ["a@x.dk"], ledger, settings) == []
    assert len(inbox.messages) == 1


CHILD = """
import sys
from kvartal.notify import SmtpSettings, deliver_owed
from kvartal.storage import LocalStorage
publish, ledger, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
deliver_owed(LocalStorage(publish), LocalStorage(ledger), "2009Q3",
             ["a@x.dk", "b@x.dk"], SmtpSettings(host="127.0.0.1", port=port, timeout=10),
             {}, lambda key: key, ["report.html"])
"""


@pytest.mark.slow
def test_a_run_killed_between_two_recipients_leaves_the_second_to_the_next_run(
    smtp: tuple[Inbox, SmtpSettings], tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    inbox, settings = smtp
    publish = _published(tmp_path / "published", {1: ["achieved"]})
    ledger = tmp_path / "review"
    killed = subprocess.run(
        [sys.executable, "-c", CHILD, str(publish.root), str(ledger), str(settings.port)],
        env={**os.environ, "KVARTAL_FAULT_KILL_AT": "write */deliveries/2009Q3/v1/*"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [rcpts for rcpts, _ in inbox.messages] == [["a@x.dk"]]

    delivery = deliver_owed(
        publish,
        LocalStorage(ledger),
        "2009Q3",
        ["a@x.dk", "b@x.dk"],
        settings,
        {},
        lambda key: key,
        ["report.html"],
    )
    assert delivery.sent == {1: ["b@x.dk"]}
    assert sorted(rcpts[0] for rcpts, _ in inbox.messages) == ["a@x.dk", "b@x.dk"]
