"""Links an operator can open: never a `file://` link, which browsers refuse from a mail or
from the Prefect UI.

With `KVARTAL_REVIEW_URL` (a web server in front of the review location) a key becomes
`<base>/<key>`; on S3 without one it becomes a presigned link; otherwise the operator gets
the plain location (a path or `s3://` URL) to open by hand.
"""

from __future__ import annotations

from urllib.parse import quote

from kvartal.config import settings
from kvartal.storage import Storage


def review_link(storage: Storage, key: str) -> str:
    base = settings().review_url
    if base:
        return base.rstrip("/") + "/" + quote(key)
    presign = getattr(storage, "presigned_url", None)
    if presign is not None:
        return str(presign(key, settings().link_expiry))
    return storage.location(key)


def run_url(flow_run_id: str | None) -> str | None:
    """The run's page in the Prefect UI (PREFECT_UI_URL), or None when it is not known."""
    if not flow_run_id:
        return None
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    return f"{str(ui).rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None
