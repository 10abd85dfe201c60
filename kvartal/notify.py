"""Email to the report's recipients, once per recipient and published version.

A politician should get one mail per published version, not one per flow retry, and also
one for a version whose run was killed before it mailed or met a mail server that was
down. So delivery is driven by the ledger, not by the run that published: every sent mail
leaves a small record in the operators' review location (never the recipients'), and each
run mails, for every published version of the quarter, whoever has no record yet
(`deliver_owed`). A record that cannot be written after a send is remembered by the
process, so a retried task never mails twice; only a process that dies between the mail
server's acceptance and the record (a window of one request) can cause a second mail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import smtplib
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from kvartal.config import environment
from kvartal.quarters import Quarter
from kvartal.storage import AlreadyExists, Storage

STATUS_WORDS = {
    "achieved": "Opfyldt",
    "on_track": "På sporet",
    "at_risk": "I risiko",
    "off_track": "Bagud",
    "no_data": "Ingen data",
}
LINK_LABELS = {
    "report.html": "Rapporten (HTML)",
    "report.pdf": "Rapporten (PDF)",
    "report.xlsx": "Regneark (Excel)",
    "fulfilment.json": "Data (JSON)",
    "index.html": "Alle rapporter",
}


class NotifyError(RuntimeError):
    """Mail could not be configured or sent."""


class DeliveryError(NotifyError):
    """Some recipients could not be mailed; the others were (and are in the ledger)."""

    def __init__(self, failed: dict[str, str], sent: list[str]):
        self.failed, self.sent = failed, sent
        super().__init__(
            "mail kunne ikke sendes til: "
            + ", ".join(f"{to} ({why})" for to, why in failed.items())
        )


def _flag(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "ja", "yes", "on")


@dataclass
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    sender: str = "kvartal@localhost"
    timeout: float = 30.0

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> SmtpSettings:
        """Keys as in a Prefect block: host, port, user, password, starttls, from."""
        if not m.get("host"):
            raise NotifyError("SMTP-opsætningen mangler 'host'")
        return cls(
            host=str(m["host"]),
            port=int(m.get("port") or 25),
            user=str(m["user"]) if m.get("user") else None,
            password=str(m["password"]) if m.get("password") else None,
            starttls=_flag(m.get("starttls", False)),
            sender=str(m.get("from") or m.get("sender") or "kvartal@localhost"),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """The settings, or None when mail is not configured at all (then nobody is mailed).

        `KVARTAL_SMTP_BLOCK` names a Prefect block holding the settings as JSON (so the
        password lives in Prefect, not in the environment); otherwise `KVARTAL_SMTP_*`.
        """
        env = environment() if env is None else env
        block = env.get("KVARTAL_SMTP_BLOCK", "").strip()
        if block:
            return cls.from_mapping(_load_block(block))
        if not env.get("KVARTAL_SMTP_HOST", "").strip():
            return None
        return cls.from_mapping(
            {
                "host": env.get("KVARTAL_SMTP_HOST", "").strip(),
                "port": env.get("KVARTAL_SMTP_PORT", "").strip() or 25,
                "user": env.get("KVARTAL_SMTP_USER"),
                "password": env.get("KVARTAL_SMTP_PASSWORD"),
                "starttls": env.get("KVARTAL_SMTP_STARTTLS", "0"),
                "from": env.get("KVARTAL_SMTP_FROM"),
            }
        )


def _load_block(name: str) -> Mapping[str, Any]:
    """A JSON value from a Prefect block: `type-slug/name`, or a bare name for a JSON block
    (Prefect versions that have one) or else a Secret block holding JSON."""
    if "/" in name:
        from prefect.blocks.core import Block

        loaded: Any = Block.load(name)
    else:
        try:
            from prefect.blocks.system import JSON  # type: ignore[attr-defined]

            loaded = JSON.load(name)
        except ImportError:
            from prefect.blocks.system import Secret

            loaded = Secret.load(name)
    value = loaded.get() if hasattr(loaded, "get") else getattr(loaded, "value", None)
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise NotifyError(f"Prefect-blokken {name!r} indeholder ikke et JSON-objekt")
    return value


def _valid_address(a: str) -> bool:
    return "@" in a and not any(c.isspace() or c in '<>,;"' for c in a)


def recipients_from_env(env: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """`Beskæftigelsesaftale 2009=a@x.dk,b@x.dk;*=c@x.dk` -> agreement -> addresses.

    `*` is for every agreement. An address that is not one is refused loudly: a typo must
    not silently leave a politician without the report.
    """
    env = environment() if env is None else env
    out: dict[str, list[str]] = {}
    for part in env.get("KVARTAL_RECIPIENTS", "").split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise NotifyError(f"KVARTAL_RECIPIENTS: '{part.strip()}' mangler 'aftale=adresser'")
        key, _, addresses = part.partition("=")
        key = " ".join(key.split())
        for a in addresses.split(","):
            a = a.strip()
            if not a:
                continue
            if not _valid_address(a):
                raise NotifyError(f"KVARTAL_RECIPIENTS: '{a}' er ikke en mailadresse")
            bucket = out.setdefault(key, [])
            if a not in bucket:
                bucket.append(a)
    return out


def recipients_for(mapping: Mapping[str, list[str]], agreements: Iterable[str]) -> list[str]:
    """Everyone who should hear about a report covering these agreements, each once."""
    seen: dict[str, str] = {}
    keys = ["*", *(" ".join(a.split()) for a in agreements)]
    for key in keys:
        for a in mapping.get(key, []):
            seen.setdefault(a.lower(), a)
    return list(seen.values())


def send_mail(settings: SmtpSettings, to: str, subject: str, text: str) -> str:
    """Send one plain-text mail; returns its Message-ID."""
    if not _valid_address(to):
        raise NotifyError(f"'{to}' er ikke en mailadresse")
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject  # the email package refuses line breaks: no header injection
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        smtp.send_message(msg, to_addrs=[to])
    finally:
        # Once the message is accepted it is sent: a failing goodbye must not make the
        # caller believe otherwise and mail again.
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return str(msg["Message-ID"])


def ledger_key(quarter: Quarter | str, version: int, recipient: str) -> str:
    digest = hashlib.sha256(recipient.strip().lower().encode("utf-8")).hexdigest()[:16]
    return f"deliveries/{Quarter.parse(quarter)}/v{version}/{digest}.json"


def subject(quarter: Quarter | str, version: int) -> str:
    return f"Status {Quarter.parse(quarter).label_da}, version {version}"


def message_text(
    quarter: Quarter | str,
    version: int,
    summary_counts: Mapping[str, int],
    off_track_names: list[str],
    links: Mapping[str, str],
    changes: Iterable[str] = (),
) -> str:
    q = Quarter.parse(quarter)
    total = sum(summary_counts.values())
    lines = [
        f"Statusrapporten for {q.label_da} er offentliggjort (version {version}).",
        "",
        f"Status for de {total} mål:",
    ]
    known = [s for s in STATUS_WORDS if s in summary_counts]
    others = [s for s in summary_counts if s not in STATUS_WORDS]
    for s in known + others:
        lines.append(f"  {STATUS_WORDS.get(s, s)}: {summary_counts[s]}")
    lines.append("")
    if off_track_names:
        lines.append("Mål, der er bagud:")
        lines += [f"  - {name}" for name in off_track_names]
    else:
        lines.append("Ingen mål er bagud.")
    if links:
        lines += ["", "Her finder du rapporten:"]
        lines += [f"  {LINK_LABELS.get(k, k)}: {url}" for k, url in links.items()]
    if version > 1:
        lines += [
            "",
            f"Version {version} erstatter den tidligere udgave af rapporten, "
            "fordi indberetningerne er rettet. Tidligere versioner bevares.",
        ]
        lines += ["", *changes] if changes else []
    lines += ["", "Denne mail er sendt automatisk og kan ikke besvares."]
    return "\n".join(lines) + "\n"


# Ledger keys (with the ledger's URL) mailed by this process whose record could not be
# written: a retried task must not mail them again.
_sent_unrecorded: set[str] = set()
LEDGER_WRITE_ATTEMPTS = 4


def _record(ledger: Storage, key: str, record: dict[str, Any]) -> None:
    """Write the ledger record, retrying briefly: the mail is out, the record must follow."""
    data = (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode()
    for attempt in range(LEDGER_WRITE_ATTEMPTS):
        try:
            # AlreadyExists: a concurrent run mailed them too; the record is there either way
            with contextlib.suppress(AlreadyExists):
                ledger.write(key, data, content_type="application/json", create_only=True)
            return
        except Exception:  # storage in transit (OSError, botocore's own): bounded retries
            if attempt == LEDGER_WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * 2**attempt)


def notify_publication(
    quarter: Quarter | str,
    version: int,
    summary_counts: Mapping[str, int],
    off_track_names: list[str],
    links: dict[str, str],
    recipients: list[str],
    ledger: Storage,
    settings: SmtpSettings,
    changes: Iterable[str] = (),
) -> list[str]:
    """Mail each recipient once for this version; returns those mailed by this call.

    Recipients already in the ledger are skipped. A failure for one recipient does not stop
    the others; the failures are raised together at the end (DeliveryError), so a retry
    mails exactly the ones that are missing.
    """
    q = Quarter.parse(quarter)
    subj = subject(q, version)
    text = message_text(q, version, summary_counts, off_track_names, links, list(changes))
    sent: list[str] = []
    failed: dict[str, str] = {}
    seen: set[str] = set()
    for to in recipients:
        to = to.strip()
        if not to or to.lower() in seen:
            continue
        seen.add(to.lower())
        key = ledger_key(q, version, to)
        memory = f"{ledger.url}|{key}"
        if memory in _sent_unrecorded or ledger.exists(key):
            continue
        try:
            message_id = send_mail(settings, to, subj, text)
        except (OSError, smtplib.SMTPException, NotifyError) as exc:
            failed[to] = f"{type(exc).__name__}: {exc}"
            continue
        sent.append(to)
        record = {
            "quarter": str(q),
            "version": version,
            "to": to,
            "subject": subj,
            "message_id": message_id,
            "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            _record(ledger, key, record)
        except Exception as exc:  # any storage failure: the mail is out, say so, never resend
            _sent_unrecorded.add(memory)
            failed[to] = (
                f"sendt, men kunne ikke noteres i {ledger.location(key)} "
                f"({type(exc).__name__}: {exc})"
            )
    if failed:
        raise DeliveryError(failed, sent)
    return sent


@dataclass
class Delivery:
    """What `deliver_owed` did: mails sent and failures, by version."""

    sent: dict[int, list[str]] = field(default_factory=dict)
    failed: dict[int, dict[str, str]] = field(default_factory=dict)

    def summary(self) -> str:
        sent = sum(len(v) for v in self.sent.values())
        failed = sum(len(v) for v in self.failed.values())
        return f"{sent} mails sendt, {failed} mislykkedes"


def _version_summary(
    publish: Storage, quarter: Quarter, version: int, titles: Mapping[str, str]
) -> tuple[dict[str, int], list[str]]:
    """Counts and off-track names as that version published them (its fulfilment.json)."""
    try:
        doc = json.loads(publish.read(f"{quarter}/versions/{version}/fulfilment.json"))
    except FileNotFoundError:
        return {}, []
    targets = [t for t in doc.get("targets", []) if isinstance(t, dict)]
    counts = Counter(str(t.get("status")) for t in targets)
    off = [
        f"{t.get('initiative')} {titles.get(str(t.get('target_id')), '')} "
        f"({t.get('target_id')})".replace("  ", " ")
        for t in targets
        if t.get("status") == "off_track"
    ]
    return dict(counts), off


def deliver_owed(
    publish: Storage,
    ledger: Storage,
    quarter: Quarter | str,
    recipients: list[str],
    settings: SmtpSettings,
    titles: Mapping[str, str],
    link: Callable[[str], str],
    files: Iterable[str],
) -> Delivery:
    """Mail every recipient about every published version of the quarter they have not
    been told of, oldest version first; raises DeliveryError if anyone is still owed.

    `titles` maps target ids to titles for the off-track list; `link(key)` makes a
    recipient's link to a published key; `files` are the names linked in each mail.
    """
    from kvartal.history import published_change_lines
    from kvartal.publish import published_versions

    q = Quarter.parse(quarter)
    names = list(files)
    delivery = Delivery()
    for version in published_versions(publish, str(q)):
        owed = [
            to
            for to in recipients
            if f"{ledger.url}|{ledger_key(q, version, to)}" not in _sent_unrecorded
            and not ledger.exists(ledger_key(q, version, to))
        ]
        if not owed:
            continue
        counts, off_track = _version_summary(publish, q, version, titles)
        links = {name: link(f"{q}/versions/{version}/{name}") for name in names}
        # what changed since version n−1, as its published changes.json says (CONTRACT §10)
        changes = published_change_lines(publish, str(q), version)
        try:
            delivery.sent[version] = notify_publication(
                q, version, counts, off_track, links, owed, ledger, settings, changes
            )
        except DeliveryError as exc:
            delivery.sent[version] = exc.sent
            delivery.failed[version] = exc.failed
    if delivery.failed:
        failed = {
            f"{to} (version {v})": why
            for v, by in delivery.failed.items()
            for to, why in by.items()
        }
        raise DeliveryError(failed, [to for v in delivery.sent.values() for to in v])
    return delivery
