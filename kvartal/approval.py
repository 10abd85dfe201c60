"""An operator's decision on a blocked quarter, written down as waivers.

Approval in the Prefect UI is only a faster way to fill in `afvigelser.csv`: the decision is
appended to that file in the inbox, so it is on the record beside the figures and a re-run
of the same quarter reproduces it without anyone clicking again. Every decision (approval,
rejection, a deadline that passed) is also written to the review location, with who, why
and when, so the record is kvartal's own and not only a Prefect state.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any, Literal

from kvartal.model import WAIVER_COLUMNS, Problem, Waiver
from kvartal.quarters import Quarter
from kvartal.storage import Storage

WAIVER_FILE = "afvigelser.csv"
# Problems an operator cannot waive: without a catalogue or without the quarter's folder
# there is nothing to publish, and an approval would publish an empty report.
UNWAIVABLE_RULES = frozenset({"katalog_mangler", "kvartal_mangler"})
# A sheet that is not read names no whole file: a catalogue's other sheet is waivable.
SHEET_RULES = frozenset({"ark_ikke_laest", "ark_med_data_ikke_laest"})
DECISION_FIELDS = ("beslutning", "afvigelser", "begrundelse", "godkendt_af")  # CONTRACT §6


# A file in targets/ that is no workbook at all (`README.txt`): named, as every file is
# (CONTRACT §1), but no part of the catalogue, so an error like any stray file.
NOT_A_WORKBOOK_RULES = frozenset({"fil_ignoreret"})


def waivable(problem: Problem) -> bool:
    """A catalogue workbook refused as a whole (unreadable, protected, old .xls) is not
    waivable either: its targets would be missing. The catalogue is judged by whether its
    workbooks were read, not by any file that happens to lie beside them."""
    if problem.rule in UNWAIVABLE_RULES:
        return False
    if problem.rule in SHEET_RULES:
        return True  # another sheet than the catalogue's: the catalogue itself is read
    in_targets = problem.file.split("/", 1)[0].strip().casefold() == "targets"
    return not (
        in_targets
        and "/" in problem.file
        and problem.cell is None
        and problem.rule not in NOT_A_WORKBOOK_RULES
    )


def unwaivable_message(quarter: Quarter, problems: list[Problem], inbox: str) -> str:
    missing_quarter = [p for p in problems if p.rule == "kvartal_mangler"]
    if missing_quarter:
        return (
            f"{quarter}: der er ingen tal for {quarter.label_da}: mappen "
            f"{missing_quarter[0].file} i indbakken {inbox} findes ikke eller er tom. "
            "Intet er "
            "udgivet; læg centrenes regneark dér og kør igen."
        )
    return (
        f"{quarter}: målkataloget mangler eller kan ikke læses "
        f"({'; '.join(f'{p.file}: {p.message}' for p in problems)}). Det kan ikke "
        f"godkendes som en afvigelse; ret kataloget i {inbox}/targets/ og kør igen."
    )


def problem_key(problem: Problem) -> str:
    """How a problem is named in the approval form: `file:cell:rule` (unique per finding)."""
    return f"{problem.file}:{problem.cell or ''}:{problem.rule}"


def waivers_for(
    problems: list[Problem], keys: list[str], reason: str, approved_by: str
) -> list[Waiver]:
    chosen = set(keys)
    return [
        Waiver(file=p.file, cell=p.cell, rule=p.rule, reason=reason, approved_by=approved_by)
        for p in problems
        if problem_key(p) in chosen
    ]


def append_waivers(inbox: Storage, quarter: Quarter, waivers: list[Waiver]) -> str:
    """Add rows to `<quarter>/afvigelser.csv`, keeping what is there; returns the key."""
    key = f"{quarter}/{WAIVER_FILE}"
    existing = [k for k in inbox.list(f"{quarter}/") if k.lower() == key.lower()]
    rows: list[list[str]] = []
    if existing:
        key = existing[0]
        raw = inbox.read(key)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        dialect = (
            ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
        )
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=dialect) if any(r)]
    if not rows:
        rows = [list(WAIVER_COLUMNS)]
    header = [h.strip().rstrip(".").lower() for h in rows[0]]
    for w in waivers:
        values = {
            "fil": w.file,
            "celle": w.cell or "",
            "regel": w.rule or "",
            "begrundelse": w.reason,
            "godkendt af": w.approved_by,
        }
        rows.append([values.get(h, "") for h in header])
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    inbox.write(key, out.getvalue().encode("utf-8-sig"), content_type="text/csv")
    return key


class PartialApproval(ValueError):
    """An approval that leaves errors unwaived: it could never publish, so it is refused."""


def decision_form(
    problems: list[Problem],
    quarter: Quarter,
    review_link: str,
    run_url: str | None,
    deadline: datetime,
    inbox: str | None = None,
    *,
    zone: str,
) -> type[Any]:
    """The Prefect run input: exactly CONTRACT §6's fields, offering only this run's
    waivable errors, so an operator can neither waive a missing quarter nor mistype a key.

    An approval must name every listed error: a quarter with an error left publishes
    nothing, so an approval of some errors would only look like a decision. The server
    checks this before it resumes the run (the schema's `if/then`), so the UI refuses the
    form instead of the run failing minutes later; the model checks it again in the flow.
    """
    import pydantic
    from prefect.input import RunInput

    # One key per finding, but two sheets of a file not read share theirs (`file::rule`):
    # listed once, or `uniqueItems` and `minItems` together would refuse every approval.
    keys = tuple(dict.fromkeys(problem_key(p) for p in problems if waivable(p)))
    choice: Any = Literal.__getitem__(keys) if keys else str
    fields: dict[str, Any] = {
        "beslutning": (
            Literal["godkend", "afvis"],
            pydantic.Field(
                description="godkend: alle fejlene nedenfor godkendes som afvigelser, og "
                "kvartalet udgives; afvis: intet udgives, centrene retter filerne"
            ),
        ),
        "afvigelser": (
            list[choice],
            pydantic.Field(
                default=list(keys),
                description=f"Kvartalet udgives kun, hvis alle {len(keys)} fejl står her. "
                "Fjern ingen: kan en fejl ikke godkendes, så vælg afvis.",
                json_schema_extra={"uniqueItems": True},
            ),
        ),
        "begrundelse": (str, pydantic.Field(description="Hvorfor (godkendt eller afvist)")),
        "godkendt_af": (str, pydantic.Field(description="Navn på den der beslutter")),
    }

    def _all_or_nothing(answer: Any) -> Any:
        if answer.beslutning == "godkend":
            missing = [k for k in keys if k not in set(answer.afvigelser)]
            if missing:
                raise PartialApproval(
                    f"En godkendelse skal omfatte alle {len(keys)} fejl; "
                    f"{len(missing)} mangler ({', '.join(missing)}). Afvis i stedet, "
                    "eller godkend dem alle."
                )
        return answer

    schema_extra: Any = {
        "if": {"properties": {"beslutning": {"const": "godkend"}}, "required": ["beslutning"]},
        # an approval without the field at all is as partial as an empty one
        "then": {
            "required": ["afvigelser"],
            "properties": {"afvigelser": {"minItems": len(keys)}},
        },
    }
    validators: Any = {"all_or_nothing": pydantic.model_validator(mode="after")(_all_or_nothing)}
    form: type[RunInput] = pydantic.create_model(
        "Godkendelse",
        __base__=RunInput,
        __validators__=validators,
        **fields,
    )
    form.model_config["json_schema_extra"] = schema_extra
    form.model_rebuild(force=True)
    return form.with_initial_data(
        description=form_description(problems, quarter, review_link, deadline, inbox, zone=zone)
    )


def form_description(
    problems: list[Problem],
    quarter: Quarter,
    review_link: str,
    deadline: datetime,
    inbox: str | None = None,
    *,
    zone: str,
) -> str:
    """Markdown above the form: every error on a line of its own, none hidden."""
    listed = [p for p in problems if waivable(p)]
    where = f"{inbox}, {quarter.label_da}" if inbox else quarter.label_da
    lines = "\n".join(f"{n}. `{problem_key(p)}`: {p.message}" for n, p in enumerate(listed, 1))
    inbox_line = f"Indbakke: **{inbox}**\n\n" if inbox else ""
    return (
        f"## {where}: {len(listed)} fejl blokerer udgivelsen, og alle skal godkendes\n\n"
        f"{inbox_line}"
        f"**Kvartalet udgives kun, hvis alle {len(listed)} fejl herunder godkendes som "
        "afvigelser.** En godkendelse skriver dem i afvigelser.csv, og de udelades af "
        "tallene. Kan en fejl ikke godkendes, så vælg `afvis`: intet udgives, og centrene "
        "retter filerne.\n\n"
        f"Valideringsrapport: {review_link}\n\n"
        f"Frist for en beslutning: {deadline_text(deadline, zone)}\n\n{lines}\n"
    )


def deadline_text(moment: datetime, zone: str) -> str:
    """`13.10.2009 kl. 06:00 (Europe/Copenhagen)`: the deadline as the operators read it,
    in KVARTAL_TIMEZONE (`zone`), which the flow passes in."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%d.%m.%Y kl. %H:%M") + f" ({zone})"


def decision_key(quarter: Quarter, run_id: str) -> str:
    return f"{quarter}/beslutninger/{run_id}.json"


def record_decision(
    review: Storage,
    quarter: Quarter,
    run_id: str,
    decision: str,
    who: str | None,
    why: str,
    waived: list[str],
    run_url: str | None,
) -> str:
    """Write `<quarter>/beslutninger/<run id>.json` in the review location; returns where.

    One file per run: the first decision stands, a repeated write of the same run (a retried
    task) finds it there and leaves it.
    """
    from kvartal.storage import AlreadyExists

    key = decision_key(quarter, run_id)
    record = {
        "kvartal": str(quarter),
        "beslutning": decision,
        "beslutter": who,
        "begrundelse": why,
        "afvigelser": waived,
        "tidspunkt": datetime.now(UTC).isoformat(timespec="seconds"),
        "kørsel": run_id,
        "kørsel_url": run_url,
    }
    if not review.exists(key):
        with contextlib.suppress(AlreadyExists):
            review.write(
                key,
                (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode(),
                content_type="application/json",
                create_only=True,
            )
    return review.location(key)
