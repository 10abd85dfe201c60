"""Links an operator can open: never a `file://` link, which browsers refuse from a mail or
from the Prefect UI.

With a review base URL (a web server in front of the review location) a key becomes
`<base>/<key>`; on S3 without one it becomes a presigned link; otherwise the operator gets
the plain location (a path or `s3://` URL) to open by hand.

The base URL belongs to the inbox, not to the process: in a register every inbox has its own
review location, so a run sets its inbox's base with `review_base(...)` and every link made
inside it points there. `KVARTAL_REVIEW_URL` is only the default for a run that sets none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from urllib.parse import quote

from kvartal.config import settings
from kvartal.storage import Storage

_REVIEW_BASE: ContextVar[str | None] = ContextVar("kvartal_review_base", default=None)


@contextlib.contextmanager
def review_base(base: str | None) -> Iterator[None]:
    """Links made inside point at `base` (None: KVARTAL_REVIEW_URL, "" : no base URL)."""
    token = _REVIEW_BASE.set(base)
    try:
        yield
    finally:
        _REVIEW_BASE.reset(token)


def current_review_base() -> str:
    base = _REVIEW_BASE.get()
    return settings().review_url if base is None else base


def review_link(storage: Storage, key: str, base: str | None = None) -> str:
    base = current_review_base() if base is None else base
    if base:
        return base.rstrip("/") + "/" + quote(key)
    return storage.presigned_url(key, settings().link_expiry) or storage.location(key)


def run_url(flow_run_id: str | None) -> str | None:
    """The run's page in the Prefect UI (PREFECT_UI_URL), or None when it is not known."""
    if not flow_run_id:
        return None
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    return f"{str(ui).rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None
