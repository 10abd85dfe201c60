"""An aiosmtpd server on loopback that takes its time over the end of a mail, and can act
the moment it has accepted one (to take the ledger down right then)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kvartal.notify import SmtpSettings
from tests.support.smtp import Inbox, _free_port


class SlowInbox(Inbox):
    """Keeps every message it accepts; answers the end of DATA after `delay` seconds.

    The message counts as accepted before the answer goes out, as with a real server that
    has queued the mail: a client that stops waiting has still had it delivered.
    """

    def __init__(self, delay: float = 0.0, on_accept: Callable[[list[str]], None] | None = None):
        super().__init__()
        self.delay, self.on_accept = delay, on_accept
        # while set, the answer also waits for `gate` (at most `delay` seconds)
        self.gate: threading.Event | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        answer = await super().handle_DATA(server, session, envelope)
        if self.on_accept is not None:
            self.on_accept(list(envelope.rcpt_tos))
        waited = 0.0
        while waited < self.delay and not (self.gate is not None and self.gate.is_set()):
            await asyncio.sleep(0.05)
            waited += 0.05
        return answer


@contextmanager
def slow_smtp(
    delay: float, timeout: float, on_accept: Callable[[list[str]], None] | None = None
) -> Iterator[tuple[SlowInbox, SmtpSettings]]:
    from aiosmtpd.controller import Controller

    inbox = SlowInbox(delay, on_accept)
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield (
            inbox,
            SmtpSettings(
                host="127.0.0.1",
                port=controller.port,
                sender="kvartal@kommune.example",
                timeout=timeout,
            ),
        )
    finally:
        controller.stop()
