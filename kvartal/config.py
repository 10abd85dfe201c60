"""Settings: one typed object, read from the environment and checked before anything runs.

Every `KVARTAL_*` variable is a field here, so a typo in a value is found when the command
starts, with a Danish message naming the variable, and not three days later when a scheduled
run reaches the code that reads it. The README's settings table explains each one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from kvartal.readers import Limits

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_INBOX = REPO_ROOT / "examples" / "inbox"
EXAMPLE_QUARTER = "2009Q3"
PREFIX = "KVARTAL_"
CHECKSUM_MODES = ("when_required", "when_supported")
MAX_LINK_EXPIRY = 604800  # S3 presigned links live at most 7 days
DEFAULT_TIMEZONE = "Europe/Copenhagen"


class SettingsError(ValueError):
    """A setting with a value kvartal cannot use; the message names the variable."""


def _number_text(value: Any) -> Any:
    """Danish decimal commas are accepted: `0,9` is 0.9."""
    return value.strip().replace(",", ".") if isinstance(value, str) else value


def _addresses(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def _valid_address(a: str) -> bool:
    return "@" in a and not any(c.isspace() or c in '<>;"' for c in a)


class Settings(BaseSettings):
    """kvartal's settings; field `x` is the variable `KVARTAL_X`."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, case_sensitive=False, extra="ignore", frozen=True
    )

    inbox: str = str(Path("examples") / "inbox")
    publish_to: str = str(Path("out") / "published")
    review_to: str = str(Path("out") / "review")
    review_url: str = ""
    at_risk: float = Field(default=0.9, gt=0, le=1)
    approval_timeout: int = Field(default=259200, gt=0)
    operator_emails: str = ""
    recipients: str = ""
    link_expiry: int = Field(default=MAX_LINK_EXPIRY, gt=0, le=MAX_LINK_EXPIRY)
    schedule_cron: str = "0 6 10 1,4,7,10 *"
    timezone: str = DEFAULT_TIMEZONE
    work_pool: str = "kvartal"
    max_cells: int = Field(default=200000, gt=0)
    max_uncompressed: int = Field(default=104857600, gt=0)
    smtp_host: str = ""
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_from: str = ""
    smtp_block: str = ""
    # seconds to wait for the reply to the end of a mail (RFC 5321 §4.5.3.2.6: 10 minutes)
    smtp_timeout: float = Field(default=600, gt=0)
    s3_max_attempts: int = Field(default=5, ge=1)
    s3_checksums: str = "when_required"
    git_revision: str = ""
    early_server: bool = True
    # run-all: how many inboxes may talk to one S3 endpoint / one mail server at once, and
    # how many shares a register deployment splits its inboxes into (one per worker).
    s3_concurrency: int = Field(default=4, ge=1)
    smtp_concurrency: int = Field(default=2, ge=1)
    shards: int = Field(default=2, ge=1)
    register_cron: str = "0 6 10 1,4,7,10 *"
    # seconds a publisher's claim on a version holds before another run may take it over
    publish_lease: int = Field(default=600, gt=0)
    # boto3's own variables, read here too so run-all can name the endpoint it limits
    aws_endpoint_url_s3: str = Field(default="", validation_alias="AWS_ENDPOINT_URL_S3")
    aws_endpoint_url: str = Field(default="", validation_alias="AWS_ENDPOINT_URL")
    # collection (CONTRACT §9): the delivery deadline in days after a quarter's last day,
    # seconds between the centres' checks, and the days before the deadline that remind
    deadline_days: int = Field(default=5, ge=0)
    check_interval: int = Field(default=600, gt=0)
    reminder_days: str = "7,2"

    @field_validator("at_risk", "smtp_timeout", mode="before")
    @classmethod
    def _decimal_comma(cls, value: Any) -> Any:
        return _number_text(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' er ikke en kendt tidszone (fx Europe/Copenhagen)"
            ) from None
        return value

    @field_validator("schedule_cron", "register_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        # Five fields of digits, names, `*`, `,`, `-` and `/`; Prefect checks the rest.
        fields = value.split()
        if len(fields) != 5 or not all(re.fullmatch(r"[0-9A-Za-z*,/-]+", f) for f in fields):
            raise ValueError(f"'{value}' er ikke et gyldigt cron-udtryk (fx 0 6 10 1,4,7,10 *)")
        return value

    @field_validator("operator_emails")
    @classmethod
    def _operators(cls, value: str) -> str:
        bad = [a for a in _addresses(value) if not _valid_address(a)]
        if bad:
            raise ValueError(f"'{bad[0]}' er ikke en mailadresse")
        return value

    @field_validator("reminder_days")
    @classmethod
    def _reminder_days(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise ValueError(
                f"'{value}' skal være hele antal dage før fristen, adskilt af komma (fx 7,2)"
            )
        return value

    @field_validator("review_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip()
        if value and (
            urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc
        ):
            raise ValueError(
                f"'{value}' er ikke en http(s)-adresse (fx https://drift.kommune.dk/kvartal)"
            )
        return value

    @field_validator("s3_checksums", mode="before")
    @classmethod
    def _checksums(cls, value: Any) -> Any:
        text = str(value).strip().lower() or "when_required"
        if text not in CHECKSUM_MODES:
            raise ValueError(f"skal være en af {', '.join(CHECKSUM_MODES)}, ikke '{value}'")
        return text

    @property
    def s3_endpoint(self) -> str:
        return self.aws_endpoint_url_s3.strip() or self.aws_endpoint_url.strip()

    @property
    def reminder_offsets(self) -> list[int]:
        """Days before the delivery deadline on which centres are reminded, largest first."""
        return sorted({int(p) for p in self.reminder_days.split(",") if p.strip()}, reverse=True)

    @property
    def operator_addresses(self) -> list[str]:
        return _addresses(self.operator_emails)

    def read_limits(self) -> Limits:
        """How big an inbox file may be before it is refused unread (`gather`'s limits)."""
        from kvartal.readers import Limits

        return Limits(max_cells=self.max_cells, max_uncompressed=self.max_uncompressed)

    def collection(self) -> CollectionSettings:
        """What the collection's deadline, times, reminders and operators' mail depend on."""
        return CollectionSettings(
            timezone=self.timezone,
            deadline_days=self.deadline_days,
            reminder_offsets=tuple(self.reminder_offsets),
            operator_addresses=tuple(self.operator_addresses),
        )


_TYPE_WORDS = {
    "int_parsing": "skal være et helt tal",
    "int_from_float": "skal være et helt tal",
    "float_parsing": "skal være et tal",
    "bool_parsing": "skal være 1 eller 0 (ja/nej, true/false)",
    "greater_than": "skal være større end {gt}",
    "greater_than_equal": "skal være mindst {ge}",
    "less_than": "skal være mindre end {lt}",
    "less_than_equal": "må højst være {le}",
}


def _danish(error: Mapping[str, Any]) -> str:
    field = str(error["loc"][0]) if error.get("loc") else "?"
    name = PREFIX + field.upper()
    template = _TYPE_WORDS.get(str(error.get("type")))
    if template is not None:
        why = template.format(**(error.get("ctx") or {}))
        return f"{name}={error.get('input')!r} {why}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{name}: {message}"


_OTHER_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def _snapshot() -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.upper().startswith(PREFIX) or k.upper() in _OTHER_VARIABLES
        )
    )


_cache: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def settings() -> Settings:
    """The settings, read and checked once (again only if the environment was changed)."""
    global _cache
    snap = _snapshot()
    if _cache is None or _cache[0] != snap:
        try:
            loaded = Settings()
        except ValidationError as exc:
            raise SettingsError(
                "Ugyldige indstillinger: " + "; ".join(_danish(e) for e in exc.errors())
            ) from None
        _cache = (snap, loaded)
    return _cache[1]


def environment() -> dict[str, str]:
    """The raw `KVARTAL_*` variables, for parsers that take a mapping (mail settings)."""
    return dict(_snapshot())


@dataclass(frozen=True)
class CollectionSettings:
    """The collection's settings, read once by an entry point (`Settings.collection()`) and
    passed in, so the collection's functions read no environment of their own."""

    timezone: str
    deadline_days: int
    reminder_offsets: tuple[int, ...]  # days before the deadline, largest first
    operator_addresses: tuple[str, ...]


@dataclass(frozen=True)
class RunSettings:
    """The settings that change the arithmetic, and so belong in the publication fingerprint."""

    at_risk: float = 0.9

    @classmethod
    def from_env(cls) -> RunSettings:
        return cls(at_risk=settings().at_risk)

    def as_dict(self) -> dict[str, float]:
        return {"at_risk": self.at_risk}
