"""Links an operator can open: never a `file://` link, which browsers refuse from a mail or
from the Prefect UI.

With a review base URL (a web server in front of the review location) a key becomes
`<base>/<key>`; on S3 without one it becomes a presigned link; otherwise the operator gets
the plain location (a path or `s3://` URL) to open by hand.

The base URL belongs to the inbox, not to the process: in a register every inbox has its own
review location, so a run makes its inbox's `ReviewLinks` once (`KVARTAL_REVIEW_URL` is only
the default for a run that names no base) and passes it to whatever writes a review file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from kvartal.storage import Storage

if TYPE_CHECKING:
    from kvartal.config import Settings


@dataclass(frozen=True)
class ReviewLinks:
    """How a run links its review files: `base` "" means no base URL; `expiry` is the
    lifetime in seconds of a presigned link."""

    base: str
    expiry: int

    @classmethod
    def of(cls, cfg: Settings, base: str | None = None) -> ReviewLinks:
        """The run's links: `base` None takes KVARTAL_REVIEW_URL from `cfg`."""
        return cls(cfg.review_url if base is None else base, cfg.link_expiry)


def review_link(storage: Storage, key: str, links: ReviewLinks) -> str:
    if links.base:
        return links.base.rstrip("/") + "/" + quote(key)
    return storage.presigned_url(key, links.expiry) or storage.location(key)


def run_url(flow_run_id: str | None) -> str | None:
    """The run's page in the Prefect UI (PREFECT_UI_URL), or None when it is not known."""
    if not flow_run_id:
        return None
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    return f"{str(ui).rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None
