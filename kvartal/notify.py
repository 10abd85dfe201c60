"""Email to the report's recipients, once per recipient and published version.

A politician should get one mail per published version, not one per flow retry or per run,
and also one for a version whose run was killed before it mailed or met a mail server that
was down. So delivery is driven by the ledger in the operators' review location (never the
recipients'), not by the run that published: each run mails, for every published version of
the quarter, whoever has no record yet (`deliver_owed`).

Before a mail goes out, a create-only *sending claim* is written beside the record, with a
lease: a second run that finds a live claim does not send. The record follows the mail
server's acceptance; a record that cannot be written fails the run loudly. A claim without
a record whose lease has run out (or whose process on this machine is gone) is an *unknown
outcome*: the run that takes it over tells the operators, then sends again with the same
Message-ID. docs/design.md, "Recipients: exactly once, from the ledger", gives the argument.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import smtplib
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any, Literal

from kvartal.config import DEFAULT_TIMEZONE, environment
from kvartal.quarters import Quarter
from kvartal.report import LABELS
from kvartal.storage import AlreadyExists, Storage, require_conditional_writes
from kvartal.storage.base import pid_alive

if TYPE_CHECKING:
    from typing_extensions import Buffer

STATUS_WORDS = {
    "achieved": "Opfyldt",
    "on_track": "På sporet",
    "at_risk": "I risiko",
    "off_track": "Bagud",
    "no_data": "Ingen data",
}


# RFC 5321 §4.5.3.2: a client waits 5 minutes for the greeting and the replies to MAIL and
# RCPT, and 10 minutes for the reply to the message's end (DEFAULT_SMTP_TIMEOUT); a slow
# server that answers after 30 s has usually delivered, so an impatient client mails twice.
COMMAND_TIMEOUT = 300.0
DEFAULT_SMTP_TIMEOUT = 600.0
# after acceptance only the goodbye is left: a server slow at that is not waited for long
QUIT_TIMEOUT = 30.0


class NotifyError(RuntimeError):
    """Mail could not be configured or sent."""


class NotSent(NotifyError):
    """The mail server did not take the mail (unreachable, refused, or the message's end was
    never sent): nobody got it, and sending again is safe."""


class OutcomeUnknown(NotifyError):
    """The whole message went out, but the server's answer never came: it may have been
    delivered or not."""


class DeliveryError(NotifyError):
    """Some recipients could not be mailed; the others were (and are in the ledger).

    `unrecorded` are mails the server accepted whose ledger record could not be written:
    the next run cannot see them, so the run must fail loudly (`fails_run`) and the
    operators be told; a mail server that is down is only a delivery failure.
    """

    def __init__(
        self, failed: dict[str, str], sent: list[str], unrecorded: list[Doubt] | None = None
    ):
        self.failed, self.sent = failed, sent
        self.unrecorded = list(unrecorded or [])
        super().__init__(
            "mail kunne ikke sendes til: "
            + ", ".join(f"{to} ({why})" for to, why in failed.items())
        )

    @property
    def fails_run(self) -> bool:
        return bool(self.unrecorded)

    def __reduce__(self) -> tuple[Any, ...]:
        # Prefect may pickle a failed task's exception; the default would lose the fields
        return (DeliveryError, (self.failed, self.sent, self.unrecorded))


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
    # seconds to wait for the reply to the end of the message (RFC 5321 §4.5.3.2.6: 10
    # minutes); every other command waits min(this, 5 minutes)
    timeout: float = 600.0

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
            timeout=_timeout(m.get("timeout")),
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
            loaded = dict(_load_block(block))
            loaded.setdefault("timeout", env.get("KVARTAL_SMTP_TIMEOUT"))
            return cls.from_mapping(loaded)
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
                "timeout": env.get("KVARTAL_SMTP_TIMEOUT"),
            }
        )


def _timeout(value: object) -> float:
    """Seconds, `600` by default; the typed settings have refused a bad value already."""
    text = str(value).strip().replace(",", ".") if value is not None else ""
    if not text:
        return DEFAULT_SMTP_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        raise NotifyError(f"SMTP-tidsgrænsen '{value}' er ikke et tal (sekunder)") from None
    if seconds <= 0:
        raise NotifyError(f"SMTP-tidsgrænsen '{value}' skal være større end 0 sekunder")
    return seconds


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


# A sender takes a complete message and the moment by which it must be done with it; it
# returns when the server accepted the message, raises NotSent when it surely did not, and
# OutcomeUnknown when the message went out but no answer came. The simulation replaces it.
Sender = Callable[[EmailMessage, float], None]


def build_message(
    sender: str, to: str, subject: str, text: str, message_id: str, when: float
) -> EmailMessage:
    if not _valid_address(to):
        raise NotifyError(f"'{to}' er ikke en mailadresse")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject  # the email package refuses line breaks: no header injection
    msg["Date"] = format_datetime(datetime.fromtimestamp(when, UTC))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    return msg


def new_message_id(settings: SmtpSettings) -> str:
    return make_msgid(domain=settings.sender.rpartition("@")[2] or None)


class _Smtp(smtplib.SMTP):
    """smtplib's client with RFC 5321's wait for each step, bounded by the caller's
    deadline, and a note of the moment the message's final dot went out: an answer lost
    after that leaves the outcome unknown, one lost before it means nothing was sent."""

    def __init__(self, limit: Callable[[float], float], data_timeout: float):
        self._limit = limit
        self._data_timeout = data_timeout
        self._step = min(COMMAND_TIMEOUT, data_timeout)
        self.dot_sent = False
        super().__init__(timeout=limit(self._step))

    def send(self, s: Buffer | str) -> None:
        if self.sock is not None:
            # the reply to what is sent now is read under the same timeout
            self.sock.settimeout(self._limit(self._step))
        super().send(s)

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        self.putcmd("data")
        code, repl = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        body = msg.encode("ascii") if isinstance(msg, str) else bytes(msg)
        body = re.sub(rb"(?m)^\.", b"..", body)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self._step = self._data_timeout
        self.send(body + b".\r\n")
        self.dot_sent = True
        return self.getreply()

    def goodbye(self) -> None:
        self._step = min(QUIT_TIMEOUT, self._step)
        try:
            self.quit()
        except (OSError, smtplib.SMTPException):
            self.close()


def smtp_sender(settings: SmtpSettings, clock: Callable[[], float] = time.time) -> Sender:
    """Send over SMTP with RFC 5321's timeouts (KVARTAL_SMTP_TIMEOUT for the end of DATA)."""

    def send(msg: EmailMessage, deadline: float) -> None:
        def limit(seconds: float) -> float:
            left = deadline - clock()
            if left <= 0:
                raise TimeoutError("tiden til at sende mailen er brugt op")
            return min(seconds, left)

        smtp: _Smtp | None = None
        try:
            smtp = _Smtp(limit, settings.timeout)
            smtp.connect(settings.host, settings.port)
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(msg, to_addrs=[str(msg["To"])])
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            why = f"{type(exc).__name__}: {exc}"
            # a refusal after the dot is the server's word: not sent
            if (
                smtp is not None
                and smtp.dot_sent
                and not isinstance(exc, smtplib.SMTPResponseException)
            ):
                raise OutcomeUnknown(f"intet svar efter afsendelsen ({why})") from exc
            raise NotSent(why) from exc
        # Once the message is accepted it is sent: a failing goodbye must not make the
        # caller believe otherwise and mail again.
        smtp.goodbye()

    return send


def delivery_lease(settings: SmtpSettings) -> float:
    """Seconds a sending claim holds: a live sender is done with its mail well within it.

    The sender gets two thirds (twice the end-of-DATA timeout, 20 minutes by default) and
    gives up (not sent) or stops waiting (outcome unknown) by then; the last third is for
    writing the record. Only a process that stalls (a VM pause, SIGSTOP) outlives its claim.
    """
    return 3 * settings.timeout


def send_mail(settings: SmtpSettings, to: str, subject: str, text: str) -> str:
    """Send one plain-text mail; returns its Message-ID. No ledger: for the operators."""
    now = time.time()
    message_id = new_message_id(settings)
    msg = build_message(settings.sender, to, subject, text, message_id, now)
    smtp_sender(settings)(msg, now + 2 * settings.timeout)
    return message_id


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
        lines += [f"  {LABELS.get(k, k)}: {url}" for k, url in links.items()]
    if version > 1:
        lines += [
            "",
            f"Version {version} erstatter den tidligere udgave af rapporten, "
            "fordi indberetningerne er rettet. Tidligere versioner bevares.",
        ]
        lines += ["", *changes] if changes else []
    lines += ["", "Denne mail er sendt automatisk og kan ikke besvares."]
    return "\n".join(lines) + "\n"


# the ledger: records, sending claims and what a process knows -----------------------------

_HOST = socket.gethostname()
_TOKEN = secrets.token_hex(8)
LEDGER_WRITE_ATTEMPTS = 4
# the share of the lease a sender may use; the rest is for writing the record
SEND_SHARE = 2 / 3


@dataclass(frozen=True)
class Owner:
    """A process that claims a mail: its machine, process id and a token of its own."""

    host: str
    pid: int
    token: str


def this_process() -> Owner:
    return Owner(_HOST, os.getpid(), _TOKEN)


def owner_gone(owner: Owner, me: Owner) -> bool:
    """A claimant known to be dead: another process of this machine that no longer runs.
    Of another machine nothing is known; its claim holds until the lease runs out."""
    return owner.host == me.host and owner.token != me.token and not pid_alive(owner.pid)


@dataclass
class _Held:
    """A claim of this process: whether its mail may have gone out (`unsent`, `unknown`),
    and the unknown outcome it took over, with whether the operators were told yet."""

    state: str
    doubt: Doubt | None = None
    told: bool = False


@dataclass
class Memory:
    """What this process knows that the ledger may not say: the state of the claims it
    wrote (`unsent`, `unknown`) and records of accepted mails it could not write yet."""

    claims: dict[str, _Held] = field(default_factory=dict)
    pending: dict[str, tuple[bytes, Doubt]] = field(default_factory=dict)


_MEMORY = Memory()


@dataclass(frozen=True)
class Doubt:
    """A mail the ledger cannot vouch for, as the operators are told of it.

    `unrecorded`: accepted by the server, but its record could not be written.
    `unknown`: a claim without a record whose lease ran out (or whose process is gone);
    the run that takes it over sends again with the same Message-ID.
    """

    kind: Literal["unrecorded", "unknown"]
    quarter: str
    version: int
    recipient: str
    message_id: str
    since: float  # when the claim was made
    claimant: str  # "maskine, proces"
    record: str  # where the record belongs
    why: str = ""
    generation: int = 0  # the claim taken over (unknown) or held (unrecorded)
    zone: str = DEFAULT_TIMEZONE  # the time zone `when` is told in (KVARTAL_TIMEZONE)

    def line(self) -> str:
        when = _local_time(self.since, self.zone)
        if self.kind == "unrecorded":
            return (
                f"- {self.recipient}, version {self.version}: mailen blev sendt (påbegyndt "
                f"{when}, Message-ID {self.message_id}), men kunne ikke noteres i "
                f"{self.record} ({self.why}). En senere kørsel kan ikke se, at den er sendt, og "
                "sender den igen med samme Message-ID."
            )
        return (
            f"- {self.recipient}, version {self.version}: en kørsel ({self.claimant}) begyndte "
            f"at sende {when} (Message-ID {self.message_id}), men noterede aldrig, om mailen "
            f"kom frem ({self.why}). Den sendes nu igen med samme Message-ID og noteres i "
            f"{self.record}."
        )


def _local_time(epoch: float, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(epoch, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Courier:
    """How mail is sent and time passes for the ledger's rules; the simulation in the tests
    gives its own sender, clock, sleep, process identity and memory."""

    send: Sender
    lease: float
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    me: Owner = field(default_factory=this_process)
    gone: Callable[[Owner, Owner], bool] = owner_gone
    memory: Memory = field(default_factory=lambda: _MEMORY)
    # told (operators mailed, an ERROR logged) when this process takes over an unknown outcome
    tell: Callable[[list[Doubt]], None] | None = None
    zone: str = DEFAULT_TIMEZONE  # times in messages (KVARTAL_TIMEZONE, passed in)

    @classmethod
    def smtp(
        cls,
        settings: SmtpSettings,
        tell: Callable[[list[Doubt]], None] | None = None,
        zone: str = DEFAULT_TIMEZONE,
    ) -> Courier:
        return cls(send=smtp_sender(settings), lease=delivery_lease(settings), tell=tell, zone=zone)


def _digest(recipient: str) -> str:
    return hashlib.sha256(recipient.strip().lower().encode("utf-8")).hexdigest()[:16]


def ledger_key(quarter: Quarter | str, version: int, recipient: str) -> str:
    return f"deliveries/{Quarter.parse(quarter)}/v{version}/{_digest(recipient)}.json"


def claims_prefix(quarter: Quarter | str, version: int, recipient: str) -> str:
    return f"deliveries/{Quarter.parse(quarter)}/v{version}/sending/{_digest(recipient)}"


@dataclass(frozen=True)
class _Claim:
    key: str
    generation: int
    owner: Owner
    claimed_at: float
    message_id: str
    released: bool  # its sender surely sent nothing

    def data(self) -> bytes:
        doc = {
            "generation": self.generation,
            "host": self.owner.host,
            "pid": self.owner.pid,
            "token": self.owner.token,
            "claimed_at": self.claimed_at,
            "message_id": self.message_id,
            "released": self.released,
        }
        return (json.dumps(doc, indent=2) + "\n").encode()

    @classmethod
    def parse(cls, key: str, raw: bytes) -> _Claim:
        doc = json.loads(raw)
        return cls(
            key,
            int(doc["generation"]),
            Owner(str(doc["host"]), int(doc["pid"]), str(doc["token"])),
            float(doc["claimed_at"]),
            str(doc["message_id"]),
            bool(doc.get("released", False)),
        )


def _newest_claim(ledger: Storage, prefix: str) -> _Claim | None:
    keys = ledger.list(prefix)
    numbered = [(int(k.rsplit("/", 1)[1].split(".")[0]), k) for k in keys if k.endswith(".json")]
    for _, key in sorted(numbered, reverse=True):
        try:
            return _Claim.parse(key, ledger.read(key))
        except FileNotFoundError:  # its record was written and the claims dropped meanwhile
            continue
    return None


def _drop_claims(ledger: Storage, prefix: str) -> None:
    """Spent claims go once the record is there; a failure leaves them to the next run,
    which drops them when it finds the record."""
    try:
        for key in ledger.list(prefix):
            ledger.delete(key)
    except Exception:  # storage of any face; the record already holds
        return


def _record(ledger: Storage, key: str, data: bytes, courier: Courier) -> None:
    """Write the ledger record, retrying briefly: the mail is out, the record must follow."""
    for attempt in range(LEDGER_WRITE_ATTEMPTS):
        try:
            # AlreadyExists: a run that took over an unknown outcome mailed them too; the
            # record is there either way
            with contextlib.suppress(AlreadyExists):
                ledger.write(key, data, content_type="application/json", create_only=True)
            return
        except Exception:  # storage in transit (OSError, botocore's own): bounded retries
            if attempt == LEDGER_WRITE_ATTEMPTS - 1:
                raise
            courier.sleep(0.5 * 2**attempt)


class _Failed(Exception):
    def __init__(self, why: str, doubt: Doubt | None = None):
        super().__init__(why)
        self.why, self.doubt = why, doubt


Status = Literal["sent", "already", "busy"]


def _deliver_one(
    ledger: Storage,
    quarter: Quarter,
    version: int,
    to: str,
    settings: SmtpSettings,
    subj: str,
    text: str,
    courier: Courier,
) -> tuple[Status, str]:
    """One recipient, one version: claim, send, record. Returns the status and, for
    `busy`, who holds the claim; raises _Failed."""
    c, memory = courier, courier.memory
    record_key = ledger_key(quarter, version, to)
    prefix = claims_prefix(quarter, version, to)
    pending_key = f"{ledger.url}|{record_key}"
    if pending_key in memory.pending:  # accepted earlier in this process, record still owed
        data, lost = memory.pending[pending_key]
        try:
            _record(ledger, record_key, data, c)
        except Exception as exc:  # any storage failure: still unrecorded
            raise _Failed(f"sendt, men stadig ikke noteret i {lost.record}", lost) from exc
        del memory.pending[pending_key]
        _drop_claims(ledger, prefix)
        return "sent", ""
    if ledger.exists(record_key):
        if ledger.list(prefix):
            _drop_claims(ledger, prefix)
        return "already", ""

    newest = _newest_claim(ledger, prefix)
    held = _Held("unsent")
    message_id = ""
    if newest is not None and not newest.released:
        mine = newest.owner.token == c.me.token
        ours = memory.claims.get(f"{ledger.url}|{newest.key}") if mine else None
        state = ours.state if ours else None
        expired = c.clock() >= newest.claimed_at + c.lease
        claimant = f"maskine {newest.owner.host}, proces {newest.owner.pid}"
        if ours is not None and state == "unsent":
            # our own claim, nothing went out; what it took over is carried on
            message_id = newest.message_id
            held = _Held("unsent", ours.doubt, ours.told)
        elif state == "unknown" and not expired:
            raise _Failed(
                "udfald ukendt, sendes igen med samme Message-ID efter "
                f"{_local_time(newest.claimed_at + c.lease, c.zone)}"
            )
        elif expired or c.gone(newest.owner, c.me):
            message_id = newest.message_id
            held.doubt = Doubt(
                "unknown",
                str(quarter),
                version,
                to,
                newest.message_id,
                newest.claimed_at,
                claimant,
                ledger.location(record_key),
                "fristen er udløbet" if expired else "processen findes ikke mere",
                newest.generation,
                c.zone,
            )
        else:
            return "busy", f"{claimant}, siden {_local_time(newest.claimed_at, c.zone)}"

    generation = newest.generation + 1 if newest is not None else 1
    claim = _Claim(
        f"{prefix}/{generation}.json",
        generation,
        c.me,
        c.clock(),
        message_id or new_message_id(settings),
        False,
    )
    claim_memory = f"{ledger.url}|{claim.key}"
    memory.claims[claim_memory] = held  # before the write: its answer may be lost
    try:
        ledger.write(claim.key, claim.data(), content_type="application/json", create_only=True)
    except AlreadyExists:  # another run claimed it in the same instant
        del memory.claims[claim_memory]
        return "busy", "en anden kørsel"
    except Exception as exc:  # nothing sent without a claim
        raise _Failed(
            f"ikke sendt: kunne ikke reservere i {ledger.location(claim.key)} "
            f"({type(exc).__name__}: {exc})"
        ) from exc

    # The record may have been written (and its claims dropped) between our first look and
    # our claim: a record always precedes the dropping, so looking again after the claim
    # landed sees it.
    try:
        recorded = ledger.exists(record_key)
    except Exception as exc:  # storage of any face: we cannot know, so we do not send
        _release(ledger, claim, newest, held)
        raise _Failed(f"ikke sendt: {type(exc).__name__}: {exc}") from exc
    if recorded:
        memory.claims.pop(claim_memory, None)
        _drop_claims(ledger, prefix)
        return "already", ""

    if held.doubt is not None and not held.told:
        if c.tell is not None:
            c.tell([held.doubt])  # before the second mail, so the operators hear of it
        held.told = True

    msg = build_message(settings.sender, to, subj, text, claim.message_id, claim.claimed_at)
    try:
        c.send(msg, claim.claimed_at + c.lease * SEND_SHARE)
    except OutcomeUnknown as exc:
        held.state = "unknown"  # the claim stays: a later run decides
        raise _Failed(
            f"udfald ukendt, sendes igen med samme Message-ID efter "
            f"{_local_time(claim.claimed_at + c.lease, c.zone)} ({exc})"
        ) from exc
    except NotifyError as exc:  # NotSent, a bad address: nothing went out
        _release(ledger, claim, newest, held)
        raise _Failed(f"{type(exc).__name__}: {exc}") from exc

    memory.claims.pop(claim_memory, None)
    record = {
        "quarter": str(quarter),
        "version": version,
        "to": to,
        "subject": subj,
        "message_id": claim.message_id,
        "sent_at": datetime.fromtimestamp(c.clock(), UTC).isoformat(timespec="seconds"),
        "claim": generation,
        "resent_after_unknown_outcome": held.doubt is not None,
    }
    data = (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode()
    try:
        _record(ledger, record_key, data, c)
    except Exception as exc:  # any storage failure: the mail is out, say so
        why = f"{type(exc).__name__}: {exc}"
        unrecorded = Doubt(
            "unrecorded",
            str(quarter),
            version,
            to,
            claim.message_id,
            claim.claimed_at,
            f"maskine {c.me.host}, proces {c.me.pid}",
            ledger.location(record_key),
            why,
            generation,
            c.zone,
        )
        memory.pending[pending_key] = (data, unrecorded)
        raise _Failed(
            f"sendt, men kunne ikke noteres i {unrecorded.record} ({why})", unrecorded
        ) from exc
    _drop_claims(ledger, prefix)
    return "sent", ""


def _release(ledger: Storage, claim: _Claim, before: _Claim | None, held: _Held) -> None:
    """A claim whose mail surely did not go out: removed, or, when it took over an older
    claim, kept but marked released, so the older one is not doubted (and told) again. One
    that took over an unknown outcome nobody was told of yet stays as it is: whoever takes
    it over next tells."""
    if held.doubt is not None and not held.told:
        return  # stays in memory as unsent: a retry of this process resumes it
    try:
        if before is None:
            ledger.delete(claim.key)
        else:
            released = _Claim(
                claim.key, claim.generation, claim.owner, claim.claimed_at, claim.message_id, True
            )
            ledger.write(claim.key, released.data(), content_type="application/json")
    except Exception:  # left as it is, a later run takes it for unknown
        return


def notify_publication(
    quarter: Quarter | str,
    version: int,
    summary_counts: Mapping[str, int],
    off_track_names: list[str],
    links: dict[str, str],
    recipients: list[str],
    ledger: Storage,
    settings: SmtpSettings,
    courier: Courier | None = None,
    busy: dict[str, str] | None = None,
    changes: Iterable[str] = (),
) -> list[str]:
    """Mail each recipient once for this version; returns those mailed by this call.

    Recipients already in the ledger are skipped, and so are those another live run is
    mailing right now (named in `busy`, when given). A failure for one recipient does not
    stop the others; the failures are raised together at the end (DeliveryError), so a
    retry mails exactly the ones that are missing.
    """
    c = courier or Courier.smtp(settings)
    q = Quarter.parse(quarter)
    subj = subject(q, version)
    text = message_text(q, version, summary_counts, off_track_names, links, list(changes))
    require_conditional_writes(ledger)  # claims are create-only writes
    sent: list[str] = []
    failed: dict[str, str] = {}
    unrecorded: list[Doubt] = []
    seen: set[str] = set()
    for to in recipients:
        to = to.strip()
        if not to or to.lower() in seen:
            continue
        seen.add(to.lower())
        try:
            status, holder = _deliver_one(ledger, q, version, to, settings, subj, text, c)
        except _Failed as exc:
            failed[to] = exc.why
            if exc.doubt is not None:
                unrecorded.append(exc.doubt)
            continue
        except Exception as exc:  # the ledger could not be read: not sent
            failed[to] = f"ikke sendt: {type(exc).__name__}: {exc}"
            continue
        if status == "sent":
            sent.append(to)
        elif status == "busy" and busy is not None:
            busy[to] = holder
    if failed:
        raise DeliveryError(failed, sent, unrecorded)
    return sent


@dataclass
class Delivery:
    """What `deliver_owed` did: mails sent, recipients another run is mailing, failures."""

    sent: dict[int, list[str]] = field(default_factory=dict)
    failed: dict[int, dict[str, str]] = field(default_factory=dict)
    busy: dict[int, dict[str, str]] = field(default_factory=dict)

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


def _owed(ledger: Storage, record_key: str, courier: Courier) -> bool:
    """No record yet, or one this process still has to write; a ledger that cannot say is
    asked again, per recipient, where a failure is reported as such."""
    if f"{ledger.url}|{record_key}" in courier.memory.pending:
        return True
    try:
        return not ledger.exists(record_key)
    except Exception:  # storage of any face: the recipient's own attempt says what failed
        return True


def deliver_owed(
    publish: Storage,
    ledger: Storage,
    quarter: Quarter | str,
    recipients: list[str],
    settings: SmtpSettings,
    titles: Mapping[str, str],
    link: Callable[[str], str],
    files: Iterable[str],
    courier: Courier | None = None,
) -> Delivery:
    """Mail every recipient about every published version of the quarter they have not
    been told of, oldest version first; raises DeliveryError if anyone is still owed
    (except those another live run is mailing: they are in `busy`).

    `titles` maps target ids to titles for the off-track list; `link(key)` makes a
    recipient's link to a published key; `files` are the names linked in each mail.
    """
    from kvartal.history import published_change_lines
    from kvartal.publish import published_versions

    c = courier or Courier.smtp(settings)
    q = Quarter.parse(quarter)
    names = list(files)
    delivery = Delivery()
    unrecorded: list[Doubt] = []
    for version in published_versions(publish, str(q)):
        owed = [to for to in recipients if _owed(ledger, ledger_key(q, version, to), c)]
        if not owed:
            continue
        counts, off_track = _version_summary(publish, q, version, titles)
        links = {name: link(f"{q}/versions/{version}/{name}") for name in names}
        # what changed since version n−1, as its published changes.json says (CONTRACT §10)
        changes = published_change_lines(publish, str(q), version)
        busy: dict[str, str] = {}
        try:
            delivery.sent[version] = notify_publication(
                q, version, counts, off_track, links, owed, ledger, settings, c, busy, changes
            )
        except DeliveryError as exc:
            delivery.sent[version] = exc.sent
            delivery.failed[version] = exc.failed
            unrecorded += exc.unrecorded
        if busy:
            delivery.busy[version] = busy
    if delivery.failed:
        failed = {
            f"{to} (version {v})": why
            for v, by in delivery.failed.items()
            for to, why in by.items()
        }
        raise DeliveryError(failed, [to for v in delivery.sent.values() for to in v], unrecorded)
    return delivery
