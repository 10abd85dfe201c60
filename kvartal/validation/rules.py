"""Every rule's severity and the Danish message an operator reads for it.

The slug is what a waiver's `Regel` names, so slugs never change once published. Messages
say what is wrong and what to do about it, in the words of the spreadsheet, because the
reader is the person who has to open the file and fix the cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kvartal.model import ERROR, WARNING, Severity
from kvartal.numbers import (
    CellValueError,
    parse_date,
    parse_number,
    parse_reached,
    parse_text_key,
)
from kvartal.quarters import Quarter
from kvartal.units import Aggregation, Direction, TargetKind, Unit, percentage, unit_spec


def show(v: object) -> str | None:
    """A cell value as the operator typed or sees it."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        return "SAND" if v else "FALSK"
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return f"{v:.6g}".replace(".", ",")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat(" ")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def num(x: float) -> str:
    """A computed number the Danish way: 1.400, 6,5."""
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", ".")
    return f"{x:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".").rstrip("0")


@dataclass
class Finding:
    """What a message may draw on: the rule's column and value, and the row's context."""

    column: str | None
    value: str | None
    row: dict[str, Any]
    extras: dict[str, Any]
    quarter: Quarter


def _parser_message(parser: Callable[[Any], Any]) -> Callable[[Finding], str]:
    def message(f: Finding) -> str:
        raw = f.row.get(f.column) if f.column else None
        try:
            parser(raw)
        except CellValueError as e:
            return f"»{f.column}«: {e.message}"
        return f"»{f.column}«: værdien »{f.value}« kan ikke læses."

    return message


def _missing(f: Finding) -> str:
    if f.row.get("_pooled_ok") is False and f.column in ("Tæller", "Nævner"):
        return (
            "Målet er en samlet procent (pct. opgjort som sum), så hver række skal have "
            "både »Tæller« og »Nævner«; en procent alene kan ikke lægges sammen med de "
            "andre kvartalers. Skriv tæller og nævner."
        )
    if f.column in ("Værdi", "Tæller", "Nævner"):
        return (
            "Rækken har hverken en værdi i »Værdi« eller både »Tæller« og »Nævner«. "
            "Skriv værdien, eller tæller og nævner."
        )
    if f.column == "Nøgletal":
        return (
            "»Nøgletal« er tom. Skriv nøgletallet som i målkataloget; kun milepæle må undlade det."
        )
    if f.column in ("Retning", "Målværdi"):
        return f"»{f.column}« er tom. Udfyld den; kun milepæle (enhed »milepæl«) må undlade den."
    if f.row.get("_milestone_id_ok") is False:
        return (
            "Rækken siger, om en milepæl er nået, men ikke hvilken: skriv milepælens id "
            "fra målkataloget i »Mål-id«."
        )
    if f.column == "Frist":
        return "Milepælen har ingen frist. Skriv datoen i »Frist«, fx 2009-12-31."
    return f"»{f.column}« er tom. Udfyld cellen."


def _quarter(f: Finding) -> str:
    try:
        found = Quarter.parse(f.value.strip() if f.value else f.value)
    except ValueError:
        return (
            f"»{f.value}« er ikke et kvartal. Skriv mappens kvartal, {f.quarter} "
            f"(eller fx {f.quarter.q}. kvartal {f.quarter.year})."
        )
    return (
        f"Rækken er for {found}, men filen ligger i mappen for {f.quarter}. Ret "
        f"kvartalet, eller læg rækken i mappen for {found}."
    )


def _unknown_metric(f: Finding) -> str:
    return (
        f"Målkataloget har intet mål for indsats {show(f.row.get('Nr.'))} med nøgletallet "
        f"»{f.value}«. Ret »Nr.« eller »Nøgletal«, så de svarer til en række i "
        f"målkataloget (en del som »placeret/x« er kendt, når »placeret« er)."
    )


def _others(f: Finding) -> str:
    """The other rows holding the same key, for the two duplicate rules."""
    return ", ".join(f.extras.get("others", [])) or "en anden række"


def _duplicate(f: Finding) -> str:
    return (
        f"Indsats {show(f.row.get('Nr.'))}, nøgletal »{show(f.row.get('Nøgletal')) or ''}« "
        f"for {show(f.row.get('Kvartal'))} er indberettet mere end én gang "
        f"(også {_others(f)}). Behold én række og slet de andre."
    )


def _duplicate_id(f: Finding) -> str:
    return (
        f"Mål-id »{f.value}« findes flere gange i målkataloget (også {_others(f)}). "
        f"Giv hvert mål sit eget id."
    )


def _day(raw: object) -> str:
    """A reached date as Danes write it (the cell parsed as the arithmetic reads it)."""
    reached = parse_reached(raw)
    return f"{reached:%d.%m.%Y}" if isinstance(reached, date) else f"»{show(raw)}«"


def _parts(f: Finding) -> str:
    parts = f.extras.get("parts", [])
    total = " + ".join(show(v) or "" for _, v in parts)
    s = num(f.row.get("_parts_sum") or 0.0)
    return (
        f"Delene af »{show(f.row.get('Nøgletal'))}« giver {total} = {s}, men helheden er "
        f"{f.value}. Ret delene eller helheden, så de passer sammen."
    )


def _defaults() -> str:
    """`sum for antal og kr., seneste for pct.`: each unit's default `Opgørelse`, from the
    unit table, for the units that have a number."""
    numeric = [u for u in Unit if unit_spec(u).numeric]
    parts = []
    for a in Aggregation:
        units = [str(u) for u in numeric if unit_spec(u).default_aggregation == a]
        if units:
            listed = ", ".join(units[:-1]) + " og " + units[-1] if len(units) > 1 else units[0]
            parts.append(f"{a} for {listed}")
    return ", ".join(parts)


def _ratio(f: Finding) -> str:
    t, n = f.row.get("_t"), f.row.get("_n")
    rate = percentage(t, n)
    pct = math.nan if rate is None else float(rate)
    return (
        f"Værdien {f.value} passer ikke med tæller og nævner ({num(t or 0)} / {num(n or 0)} "
        f"= {num(round(pct, 2))} pct.); forskellen er over et halvt procentpoint. Ret "
        f"værdien eller tæller og nævner."
    )


def _falls(f: Finding) -> str:
    return (
        f"Niveauet er faldet fra {num(f.extras.get('previous', 0.0))} i "
        f"{f.extras.get('previous_quarter')} til {f.value}. Et »seneste«-tal plejer ikke "
        f"at falde: tjek at tallet er rigtigt."
    )


def _tenfold(f: Finding) -> str:
    return (
        f"Tallet {f.value} er mere end ti gange forrige kvartals "
        f"{num(f.extras.get('previous', 0.0))} ({f.extras.get('previous_quarter')}). Tjek "
        f"at tallet er rigtigt, fx at tusindtalspunktummet står rigtigt."
    )


def _no_figure(f: Finding) -> str:
    return (
        f"Målet {f.value} gælder i {f.quarter}, men ingen fil for kvartalet har tal for "
        f"det. Tjek at centret har indberettet, og at »Nr.«, »Nøgletal« eller »Mål-id« er "
        f"stavet som i målkataloget."
    )


def _baseline(f: Finding) -> str:
    why = f.row.get("_baseline_why")
    if why == "lig":
        return (
            f"Basislinjen ({f.value}) er lig med målværdien, så målet har ingen vej at gå. "
            f"Ret »Basislinje« eller »Målværdi«, eller slet basislinjen."
        )
    what = "en samlet procent (pct. opgjort som sum)" if why == "pulje" else "opgjort som sum"
    return (
        f"En basislinje hører kun til mål opgjort som »seneste« (et niveau, der flyttes "
        f"fra basislinjen), men målet er {what}. Slet basislinjen, eller skriv seneste i "
        f"»Opgørelse«."
    )


def _set(what: str, allowed: str) -> Callable[[Finding], str]:
    return lambda f: f"»{f.value}« er ikke {what}. Skriv en af: {allowed}."


def _unmatched_waiver(f: Finding) -> str:
    cell = show(f.row.get("Celle")) or "(hele filen)"
    rule = show(f.row.get("Regel")) or "alle regler"
    return (
        f"Afvigelsen for {f.value} {cell} ({rule}) svarer ikke til noget fund i "
        f"kvartalet. Slet rækken, eller ret fil, celle eller regel."
    )


def _given(f: Finding) -> str:
    return str(f.extras.get("message", ""))


@dataclass(frozen=True)
class Rule:
    severity: Severity
    title: str  # Danish, for docs/rules.md and the review page
    message: Callable[[Finding], str]


RULES: dict[str, Rule] = {
    "mangler_kolonne": Rule(
        ERROR,
        "Krævet kolonne mangler",
        lambda f: (
            f"Filen mangler kolonnen »{f.column}«. Tilføj den i overskriftsrækken (den første "
            f"udfyldte række), eller ret stavemåden."
        ),
    ),
    "mangler_vaerdi": Rule(ERROR, "Krævet værdi mangler", _missing),
    "ugyldigt_nummer": Rule(ERROR, "Nummer kan ikke læses", _parser_message(parse_text_key)),
    "ukendt_noegletal": Rule(ERROR, "Nr./Nøgletal findes ikke i målkataloget", _unknown_metric),
    "ukendt_maal_id": Rule(
        ERROR,
        "Mål-id findes ikke i målkataloget",
        lambda f: (
            f"Målkataloget har intet mål med Mål-id »{f.value}«. Ret Mål-id'et, eller tilføj "
            f"målet i målkataloget."
        ),
    ),
    "maal_id_uenig": Rule(
        ERROR,
        "Mål-id passer ikke til Nr./Nøgletal",
        lambda f: (
            f"Rækken nævner Mål-id »{f.value}«, men det mål har {f.row.get('_id_keys')} i "
            f"målkataloget, og rækken har Nr. »{show(f.row.get('Nr.')) or ''}« og Nøgletal "
            f"»{show(f.row.get('Nøgletal')) or ''}«. Tallet ville tælle med under et andet "
            f"mål end rækkens Nr. og Nøgletal siger. Ret Mål-id'et eller Nr./Nøgletal, så "
            f"de peger på samme mål."
        ),
    ),
    "forkert_kvartal": Rule(ERROR, "Kvartal er ikke mappens", _quarter),
    "ikke_tal": Rule(ERROR, "Værdien er ikke et tal", _parser_message(parse_number)),
    "ikke_dato": Rule(ERROR, "Værdien er ikke en dato", _parser_message(parse_date)),
    "ugyldig_milepael": Rule(ERROR, "Milepæl nået kan ikke læses", _parser_message(parse_reached)),
    "negativ_antal": Rule(
        ERROR,
        "Negativt antal",
        lambda f: f"»{f.column}« er »{f.value}«, men et antal kan ikke være negativt. Ret tallet.",
    ),
    "procent_uden_for_0_100": Rule(
        ERROR,
        "Procent uden for 0-100",
        lambda f: f"En procentsats skal ligge mellem 0 og 100, men er »{f.value}«. Ret tallet.",
    ),
    "taeller_over_naevner": Rule(
        ERROR,
        "Tæller større end nævner",
        lambda f: (
            f"Tælleren ({f.value}) er større end nævneren ({show(f.row.get('Nævner'))}). "
            f"Tælleren er en del af nævneren: ret tallene."
        ),
    ),
    "naevner_nul": Rule(
        ERROR,
        "Nævner er nul",
        lambda f: (
            "Nævneren er 0, så procenten kan ikke beregnes. Ret nævneren, eller lad tæller og "
            "nævner stå tomme og skriv procenten i »Værdi«."
        ),
    ),
    "taeller_naevner_uenig": Rule(ERROR, "Værdi og tæller/nævner er uenige", _ratio),
    "dublet": Rule(ERROR, "Samme tal indberettet to gange", _duplicate),
    "dele_passer_ikke": Rule(ERROR, "Delene giver ikke helheden", _parts),
    "dublet_maal_id": Rule(ERROR, "Mål-id findes to gange", _duplicate_id),
    "ukendt_enhed": Rule(ERROR, "Ukendt enhed", _set("en kendt enhed", ", ".join(Unit))),
    "ukendt_retning": Rule(ERROR, "Ukendt retning", _set("en kendt retning", ", ".join(Direction))),
    "ukendt_maaltype": Rule(
        ERROR, "Ukendt måltype", _set("en kendt måltype", ", ".join(TargetKind))
    ),
    "ukendt_opgoerelse": Rule(
        ERROR,
        "Ukendt opgørelse",
        lambda f: (
            f"»{f.value}« er ikke en kendt opgørelse. Skriv {' eller '.join(Aggregation)}, "
            f"eller lad cellen stå tom (så bruges {_defaults()})."
        ),
    ),
    "ugyldigt_kvartal": Rule(
        ERROR,
        "Kvartal kan ikke læses",
        lambda f: (
            f"»{f.value}« i »{f.column}« er ikke et kvartal. Skriv fx 2009Q3 eller 3. kvartal 2009."
        ),
    ),
    "fra_efter_til": Rule(
        ERROR,
        "Fra efter Til",
        lambda f: (
            f"Målets periode begynder ({f.value}) efter den slutter "
            f"({show(f.row.get('Til'))}). Ret »Fra« eller »Til«."
        ),
    ),
    "interval_max_under_min": Rule(
        ERROR,
        "Intervallets maksimum under minimum",
        lambda f: (
            f"Intervallets maksimum ({f.value}) er mindre end minimum "
            f"({show(f.row.get('Målværdi'))}). Ret »Målværdi« eller »Målværdi maks.«."
        ),
    ),
    "interval_uden_maks": Rule(
        ERROR,
        "Interval uden maksimum",
        lambda f: (
            "Et mål med retningen interval skal have en øvre grænse. Skriv den i "
            "»Målværdi maks.«, eller vælg retningen mindst."
        ),
    ),
    "ugyldig_basislinje": Rule(ERROR, "Basislinje på et sum-mål eller lig målværdien", _baseline),
    "afvigelse_ufuldstaendig": Rule(
        ERROR,
        "Afvigelse uden fil, begrundelse eller godkender",
        lambda f: (
            f"Afvigelsen mangler »{f.column}«. En afvigelse gælder kun, når den siger hvilken fil, "
            f"hvorfor og hvem der har godkendt den."
        ),
    ),
    "mangler_tal": Rule(WARNING, "Aktivt mål uden tal", _no_figure),
    "seneste_falder": Rule(WARNING, "Seneste-tal falder", _falls),
    "milepael_efter_kvartalet": Rule(
        WARNING,
        "Milepæl nået efter kvartalets udgang",
        lambda f: (
            f"»Milepæl nået« er {_day(f.row.get('Milepæl nået'))}, efter "
            f"{f.quarter.label_da}s udgang ({f.quarter.last_day:%d.%m.%Y}). Rapporten for "
            f"{f.quarter.label_da} regner milepælen som nået på den dato. Er datoen en "
            f"slåfejl, så ret den; er milepælen ikke nået endnu, så lad cellen stå tom eller "
            f"skriv »nej«."
        ),
    ),
    "tidobling": Rule(WARNING, "Mere end ti gange forrige kvartal", _tenfold),
    "afvigelse_uden_fund": Rule(WARNING, "Afvigelse uden fund", _unmatched_waiver),
    # Columns not read (kvartal.validation.columns builds their messages).
    "kolonne_stavet": Rule(ERROR, "Overskrift ligner en kolonne", _given),
    "dublet_kolonne": Rule(ERROR, "Overskrift står to gange", _given),
    "kolonne_uden_overskrift": Rule(ERROR, "Udfyldt kolonne uden overskrift", _given),
    "ubrugt_kolonne": Rule(WARNING, "Kolonner, der ikke er brugt", _given),
}


def every_rule() -> dict[str, str]:
    """Every rule slug kvartal can report, with its severity: validation's, the readers'
    and gather's. docs/rules.md lists exactly these (a test holds the two together)."""
    from kvartal.gather import RULES as GATHER_RULES
    from kvartal.readers import SEVERITY as READER_RULES

    out: dict[str, str] = {slug: rule.severity for slug, rule in RULES.items()}
    from kvartal.collection.centres import RULES as COLLECTION_RULES

    for table in (READER_RULES, GATHER_RULES, COLLECTION_RULES):
        for slug, severity in table.items():
            if out.setdefault(slug, severity) != severity:
                raise ValueError(f"rule {slug} has two severities")
    return out
