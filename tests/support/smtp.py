"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from kvartal.notify import SmtpSettings


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpSettings]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield (
            inbox,
            SmtpSettings(
                host="127.0.0.1", port=controller.port, sender="kvartal@kommune.example", timeout=10
            ),
        )
    finally:
        controller.stop()


@pytest.fixture
def mail(smtp: tuple[Inbox, SmtpSettings], monkeypatch: pytest.MonkeyPatch) -> Inbox:
    """kvartal's mail settings pointed at the loopback server, operators included; what
    it received."""
    box, cfg = smtp
    for key, value in {
        "KVARTAL_SMTP_HOST": "127.0.0.1",
        "KVARTAL_SMTP_PORT": str(cfg.port),
        "KVARTAL_SMTP_FROM": "kvartal@kommune.example",
        "KVARTAL_OPERATOR_EMAILS": "drift@kommune.example",
    }.items():
        monkeypatch.setenv(key, value)
    return box
