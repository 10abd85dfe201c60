"""The register of inboxes (CONTRACT §8): a TOML file naming every inbox run together.

The register is read once, where `run-all` or `deploy --register` is given it, and travels
on as plain data (`Register.to_dict`): a deployment's runs on other machines need no copy of
the file. Local paths in it are relative to the register's own folder, so a register and
its inboxes can be moved together and run from any working directory. An entry without
`review_to` gets its own folder under KVARTAL_REVIEW_TO, so no two inboxes share a report.

Each inbox has its own review link base too, so a mail about Vejen links Vejen's validation
report: the entry's `review_url`, else KVARTAL_REVIEW_URL joined with the entry's folder
under KVARTAL_REVIEW_TO (the web server in front of KVARTAL_REVIEW_TO serves each inbox's
folder under the same path). A `review_to` elsewhere without its own `review_url` gets no
base URL: its links are presigned (S3) or the plain location, never another inbox's.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kvartal.config import Settings

_INBOX_KEYS = ("name", "inbox", "publish_to", "review_to")
_OPTIONAL_KEYS = ("review_url",)


class RegisterError(ValueError):
    """A register that cannot be run; the message names the file and the entry."""


@dataclass(frozen=True)
class InboxEntry:
    name: str
    inbox: str
    publish_to: str
    review_to: str
    review_url: str = ""  # the base URL of this inbox's review location ("": none)

    @property
    def slug(self) -> str:
        return slug(self.name)


@dataclass(frozen=True)
class Register:
    summary_to: str
    inboxes: tuple[InboxEntry, ...]
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary_to": self.summary_to,
            "source": self.source,
            "inboxes": [asdict(e) for e in self.inboxes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Register:
        return cls(
            summary_to=data["summary_to"],
            source=data.get("source", ""),
            inboxes=tuple(InboxEntry(**e) for e in data["inboxes"]),
        )


def slug(name: str) -> str:
    """A name fit for file names and Prefect names: `Høje-Taastrup` -> `hoeje-taastrup`."""
    text = name.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "indbakke"


def _location(value: str, base: Path) -> str:
    if "://" in value and not value.startswith("file://"):
        return value
    path = Path(value.removeprefix("file://")).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


@dataclass(frozen=True)
class RegisterDefaults:
    """What an inbox without its own review settings gets: a folder of its own under
    KVARTAL_REVIEW_TO, and the address KVARTAL_REVIEW_URL serves that root at."""

    review_to: str
    review_url: str

    @classmethod
    def of(cls, cfg: Settings) -> RegisterDefaults:
        return cls(review_to=cfg.review_to, review_url=cfg.review_url)


def _default_review(name: str, defaults: RegisterDefaults) -> str:
    root = defaults.review_to
    if "://" in root and not root.startswith("file://"):
        return f"{root.rstrip('/')}/{slug(name)}"
    return str(Path(root.removeprefix("file://")).expanduser().resolve() / slug(name))


def _is_web_url(value: object) -> bool:
    from urllib.parse import urlsplit

    return isinstance(value, str) and (
        urlsplit(value.strip()).scheme in ("http", "https") and bool(urlsplit(value).netloc)
    )


def _review_url(review_to: str, defaults: RegisterDefaults) -> str:
    """KVARTAL_REVIEW_URL joined with the inbox's folder under KVARTAL_REVIEW_TO, or ""."""
    base = defaults.review_url
    if not base:
        return ""
    root = defaults.review_to
    if "://" not in root or root.startswith("file://"):
        root = str(Path(root.removeprefix("file://")).expanduser().resolve())
    root = root.rstrip("/")
    if not review_to.startswith(root + "/"):
        return ""
    return base.rstrip("/") + "/" + review_to[len(root) + 1 :].strip("/")


def load_register(path: str | Path, defaults: RegisterDefaults) -> Register:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegisterError(f"{file}: registret findes ikke") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegisterError(f"{file}: registret kan ikke læses ({exc})") from None
    return parse_register(text, source=str(file), base=file.resolve().parent, defaults=defaults)


def parse_register(text: str, *, source: str, base: Path, defaults: RegisterDefaults) -> Register:
    """Every problem of the register at once, each with the file and the entry it is in."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegisterError(f"{source}: ikke gyldig TOML: {exc}") from None
    problems: list[str] = []
    summary_to = data.get("summary_to")
    if not isinstance(summary_to, str) or not summary_to.strip():
        problems.append(f"{source}: `summary_to` mangler (hvor oversigten skal skrives)")
    raw = data.get("inbox")
    if not isinstance(raw, list) or not raw:
        problems.append(f"{source}: registret har ingen indbakker ([[inbox]]-tabeller)")
        raw = []
    entries: list[InboxEntry] = []
    seen: dict[str, int] = {}
    for number, item in enumerate(raw, start=1):
        where = f"{source}: indbakke nr. {number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: skal være en tabel ([[inbox]])")
            continue
        name = item.get("name")
        if isinstance(name, str) and name.strip():
            where = f"{where} ({name.strip()})"
        values: dict[str, str] = {}
        if "review_to" not in item:  # like `kvartal run` without --review-to, one folder each
            item = {**item, "review_to": _default_review(str(item.get("name") or number), defaults)}
        for key in _INBOX_KEYS:
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: `{key}` mangler eller er tom")
            else:
                values[key] = value.strip()
        unknown = sorted(set(item) - set(_INBOX_KEYS) - set(_OPTIONAL_KEYS))
        if unknown:
            problems.append(f"{where}: ukendte nøgler {', '.join(unknown)}")
        if len(values) < len(_INBOX_KEYS):
            continue
        key = slug(values["name"])
        if key in seen:
            problems.append(
                f"{where}: navnet {values['name']!r} er allerede brugt af indbakke nr. {seen[key]}"
            )
            continue
        seen[key] = number
        review_to = _location(values["review_to"], base)
        own_url = item.get("review_url")
        if own_url is not None and not _is_web_url(own_url):
            problems.append(
                f"{where}: `review_url` {own_url!r} er ikke en http(s)-adresse "
                "(fx https://drift.kommune.dk/kvartal/vejen)"
            )
            continue
        entries.append(
            InboxEntry(
                name=values["name"],
                inbox=_location(values["inbox"], base),
                publish_to=_location(values["publish_to"], base),
                review_to=review_to,
                review_url=own_url.strip() if own_url else _review_url(review_to, defaults),
            )
        )
    if problems:
        raise RegisterError("Registret kan ikke køres:\n" + "\n".join(problems))
    assert isinstance(summary_to, str)
    return Register(
        summary_to=_location(summary_to.strip(), base), inboxes=tuple(entries), source=source
    )
