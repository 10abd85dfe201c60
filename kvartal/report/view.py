"""From `ReportInput` to what the page shows: grouping, wording, bars and trends.

The templates only lay out; every judgement about how a result is said in Danish lives
here, in one place, so the HTML, the PDF (same HTML) and the workbook cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from kvartal.history.trend import anchor
from kvartal.model import Figure, Problem, Target, TargetResult, Waiver
from kvartal.quarters import Quarter
from kvartal.report import danish
from kvartal.report.sanitize import comment_html
from kvartal.typed import match_key
from kvartal.units import Direction, Status, TargetKind, Unit, unit_spec

if TYPE_CHECKING:
    from kvartal.report import ReportInput

ACTIVITY_KINDS = (TargetKind.ACTIVITY,)
NO_THEME = "Øvrige indsatser"
NO_AGREEMENT = "Aftale ikke angivet"
BAR_WIDTH = 120
TREND_EPSILON = 0.005  # half a percentage point of pace: smaller moves are "unchanged"


@dataclass
class Bar:
    fill: float  # px of BAR_WIDTH
    marker: float | None  # px where expected-to-date sits
    goal: float | None  # px where 100 % sits, when the scale reaches beyond it
    label: str


@dataclass
class Trend:
    symbol: str
    text: str


@dataclass
class TargetView:
    target_id: str
    kind: str
    description: str
    unit: str
    status: str
    status_word: str
    status_symbol: str
    status_class: str
    value_text: str
    expected_text: str | None
    forecast_text: str | None
    fulfilment_text: str | None
    pace_text: str | None
    trend: Trend | None
    bar: Bar | None
    is_milestone: bool
    result: TargetResult
    target: Target | None
    course_href: str = ""  # the target on udvikling.html (CONTRACT §10)


@dataclass
class InitiativeView:
    number: str
    title: str
    responsible: str | None
    activity: list[TargetView] = field(default_factory=list)
    result: list[TargetView] = field(default_factory=list)
    comments: list[Markup] = field(default_factory=list)
    raw_comments: list[str] = field(default_factory=list)
    targets: list[TargetView] = field(default_factory=list)  # catalogue order


@dataclass
class ThemeView:
    name: str
    anchor: str
    initiatives: list[InitiativeView] = field(default_factory=list)


@dataclass
class StatusCount:
    status: str
    word: str
    symbol: str
    css: str
    count: int


@dataclass
class AgreementView:
    name: str
    anchor: str
    themes: list[ThemeView] = field(default_factory=list)
    counts: list[StatusCount] = field(default_factory=list)
    total: int = 0
    off_track: list[str] = field(default_factory=list)


@dataclass
class Note:
    place: str
    message: str
    rule: str
    reason: str | None = None
    approved_by: str | None = None


@dataclass
class ChangesView:
    """What this version changed since the one before (changes.json, in words)."""

    since: int
    targets: list[str]
    sources: list[str]
    waivers: list[str]


@dataclass
class CourseChart:
    target_id: str
    heading: str
    chart: Markup | None
    cells: list[str]  # one per quarter of the page (`ReportView.chart_quarters`), in order


@dataclass
class ReportView:
    title: str
    agreements_text: str
    quarter_label: str
    previous_label: str
    version: int
    updated: str
    agreements: list[AgreementView]
    warnings: list[Note]
    waivers: list[Note]
    changes: ChangesView | None = None
    charts: list[CourseChart] = field(default_factory=list)
    chart_quarters: list[str] = field(default_factory=list)


def _slug(text: str, prefix: str, taken: set[str]) -> str:
    base = prefix + "-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x")
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _is_milestone(r: TargetResult) -> bool:
    return not unit_spec(Unit(r.unit)).numeric


def _qty(x: float, unit: str, approximate: bool = False) -> str:
    return ("ca. " if approximate else "") + danish.amount(x, unit)


def _range(lo: float, hi: float, unit: str) -> str:
    return f"{danish.bare(lo, unit)}–{danish.bare(hi, unit)}{danish.unit_suffix(hi, unit)}"


def target_text(t: Target | None, r: TargetResult) -> str:
    """The target itself in words: `mindst 150`, `højst 10 pct.`, `60–70`."""
    if _is_milestone(r) or r.target is None:
        return ""
    approx = bool(t and t.approximate)
    if r.direction == Direction.RANGE and r.target_max is not None:
        return ("ca. " if approx else "") + _range(r.target, r.target_max, r.unit)
    word = "højst " if r.direction == Direction.AT_MOST else "mindst "
    return word + _qty(r.target, r.unit, approx)


def milestone_text(r: TargetResult) -> str:
    due = danish.day(r.due) if r.due else None
    reached = r.reached
    if isinstance(reached, date):
        if r.late and due:
            return f"Milepæl nået {danish.day(reached)}, efter fristen {due}."
        return f"Milepæl nået {danish.day(reached)}" + (f" (frist {due})." if due else ".")
    if reached is True:
        text = "Milepæl nået (dato ikke oplyst)"
        if r.late and due:
            return text + f", efter fristen {due}."
        return text + (f"; frist {due}." if due else ".")
    if r.status == Status.NO_DATA:
        return "Ingen oplysning om milepælen" + (f"; frist {due}." if due else ".")
    if r.status == Status.OFF_TRACK and due:
        return f"Milepæl ikke nået; fristen {due} er overskredet."
    return "Milepæl ikke nået endnu" + (f"; frist {due}." if due else ".")


def value_text(t: Target | None, r: TargetResult) -> str:
    """The value against the target in words and numbers, as a politician would say it."""
    if _is_milestone(r):
        return milestone_text(r)
    if r.actual is None:
        goal = target_text(t, r)
        return "Ingen tal endnu" + (f"; målet er {goal}." if goal else ".")
    actual = _qty(r.actual, r.unit, r.approximate)
    approx_t = bool(t and t.approximate)
    if r.target is None:
        return actual
    if r.direction == Direction.RANGE and r.target_max is not None:
        rng = _range(r.target, r.target_max, r.unit)
        if r.above_range or r.actual > r.target_max:
            return f"{actual}, over intervallet {rng}"
        if r.actual >= r.target:
            return f"{actual}, inden for intervallet {rng}"
        share = f" ({danish.percent(r.fulfilment)})" if r.fulfilment is not None else ""
        return f"{actual}, under intervallet {rng}{share}"
    goal = _qty(r.target, r.unit, approx_t)
    baseline = t.baseline if t else None
    if r.direction == Direction.AT_MOST:
        text = f"{actual} mod mål højst {goal}"
        if baseline is not None:
            text += f" (udgangspunkt {danish.amount(baseline, r.unit)})"
        return text
    if baseline is not None:
        text = f"{actual} mod mål {goal} (udgangspunkt {danish.amount(baseline, r.unit)}"
        if r.fulfilment is not None:
            text += f"; {danish.percent(r.fulfilment)} af vejen"
        return text + ")"
    if r.unit == Unit.PERCENT:
        return f"{actual} mod mål {goal}"
    share = f" ({danish.percent(r.fulfilment)})" if r.fulfilment is not None else ""
    return f"{actual} af {goal}{share}"


def expected_share(t: Target | None, r: TargetResult) -> float | None:
    """Where expected-to-date sits on the fulfilment scale (1 = the whole target)."""
    e, goal = r.expected_to_date, r.target
    if e is None or goal is None:
        return None
    baseline = t.baseline if t else None
    if baseline is not None:
        span = (baseline - goal) if r.direction == Direction.AT_MOST else (goal - baseline)
        if span == 0:
            return None
        moved = (baseline - e) if r.direction == Direction.AT_MOST else (e - baseline)
        return moved / span
    if r.direction == Direction.AT_MOST:
        return 1.0
    return e / goal if goal else None


def bar(t: Target | None, r: TargetResult) -> Bar | None:
    if _is_milestone(r) or r.fulfilment is None:
        return None
    f = max(r.fulfilment, 0.0)
    e = expected_share(t, r)
    scale = min(max(1.0, f, e or 0.0), 1.5)
    label = f"Opfyldelse {danish.percent(r.fulfilment)} af målet"
    if e is not None:
        label += f"; forventet til dato {danish.percent(e)}"
    return Bar(
        fill=round(min(f, scale) / scale * BAR_WIDTH, 1),
        marker=None if e is None else round(min(max(e, 0.0), scale) / scale * BAR_WIDTH, 1),
        goal=round(BAR_WIDTH / scale, 1) if scale > 1.0 else None,
        label=label,
    )


def _standing(r: TargetResult) -> float | None:
    """One higher-is-better number per target: pace (progress against plan)."""
    return r.pace if r.pace is not None else r.fulfilment


def trend(r: TargetResult, prev: TargetResult | None, previous_label: str) -> Trend | None:
    if prev is None or _is_milestone(r):
        return None
    now, before = _standing(r), _standing(prev)
    if now is None or before is None:
        return None
    diff = now - before
    if abs(diff) < TREND_EPSILON:
        return Trend("→", f"Uændret siden {previous_label}")
    if diff > 0:
        return Trend("↑", f"Bedre end i {previous_label}")
    return Trend("↓", f"Dårligere end i {previous_label}")


def _forecast(x: float, unit: str) -> str:
    """A forecast of a count is a count: 1.866,7 forløb would be false precision."""
    return danish.number(x, 0) if unit_spec(Unit(unit)).whole else danish.amount(x, unit)


def target_view(
    t: Target | None, r: TargetResult, prev: TargetResult | None, previous_label: str
) -> TargetView:
    word, symbol, css = danish.STATUSES.get(r.status, (r.status, "?", "no-data"))
    milestone = _is_milestone(r)
    return TargetView(
        target_id=r.target_id,
        kind=t.kind if t else TargetKind.ACTIVITY,
        description=t.description if t else "",
        unit=r.unit,
        status=r.status,
        status_word=word,
        status_symbol=symbol,
        status_class=css,
        value_text=value_text(t, r),
        expected_text=(
            None
            if milestone or r.expected_to_date is None
            else danish.amount(r.expected_to_date, r.unit)
        ),
        forecast_text=(None if milestone or r.forecast is None else _forecast(r.forecast, r.unit)),
        fulfilment_text=None if r.fulfilment is None else danish.percent(r.fulfilment),
        pace_text=None if r.pace is None else danish.percent(r.pace),
        trend=trend(r, prev, previous_label),
        bar=bar(t, r),
        is_milestone=milestone,
        result=r,
        target=t,
    )


def _comments_by_initiative(figures: list[Figure], quarter: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in figures:
        if f.quarter != quarter or not f.comment or not f.comment.strip():
            continue
        # Keyed as every `Nr.` is matched (kvartal.typed): a centre's `1.4A` is `1.4a`.
        texts = out.setdefault(match_key(f.initiative) or "", [])
        if f.comment.strip() not in texts:
            texts.append(f.comment.strip())
    return out


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def _place(file: str, sheet: str | None, cell: str | None) -> str:
    parts = [file]
    if sheet:
        parts.append(f"ark {sheet}")
    if cell:
        parts.append(f"celle {cell}")
    return ", ".join(parts)


def notes(
    warnings: list[Problem], waivers: list[tuple[Problem, Waiver]]
) -> tuple[list[Note], list[Note]]:
    warn = [Note(_place(p.file, p.sheet, p.cell), p.message, p.rule) for p in warnings]
    waived = [
        Note(_place(p.file, p.sheet, p.cell), p.message, p.rule, w.reason, w.approved_by)
        for p, w in waivers
    ]
    return warn, waived


# From a report (`<quarter>/versions/<n>/report.html`, where index.html and the mails lead)
# to the publish root; from its copy at `<quarter>/report.html`, two folders nearer.
ROOT_FROM_REPORT = "../../../"
ROOT_FROM_QUARTER = "../"


def html_at_quarter(html: bytes) -> bytes:
    """The copy at `<quarter>/report.html`, from the version's page: its links to the
    publish root lead two levels less up. Only links are changed: text from the inputs is
    escaped, so `href="` in the page is always one of the page's own attributes."""
    return html.replace(f'href="{ROOT_FROM_REPORT}'.encode(), f'href="{ROOT_FROM_QUARTER}'.encode())


def changes_view(changes: dict[str, Any] | None) -> ChangesView | None:
    from kvartal.history.changes import change_lines

    if changes is None:
        return None
    lines = change_lines(changes)
    return ChangesView(int(changes["since"]), lines["targets"], lines["sources"], lines["waivers"])


def course_charts(ri: ReportInput) -> list[CourseChart]:
    """The page of charts: each target's course over the published quarters before this
    one (their newest versions) and this version's own figures."""
    if not ri.course and not ri.results:
        return []
    from kvartal.history.page import courses
    from kvartal.history.trend import PublishedQuarter, trend_doc

    own = PublishedQuarter(str(ri.quarter), ri.version, "", [r.to_json() for r in ri.results])
    earlier = [pq for pq in ri.course if pq.quarter < str(ri.quarter)]
    doc = trend_doc([*earlier, own])
    shown = {r.target_id for r in ri.results}
    doc["targets"] = [t for t in doc["targets"] if t["target_id"] in shown]
    quarters = [pq.quarter for pq in [*earlier, own]]
    out = []
    for c in courses(doc, ROOT_FROM_REPORT):
        by_quarter = {r.quarter: r for r in c.rows}
        cells = []
        for q in quarters:
            r = by_quarter.get(q)
            if r is None:
                cells.append("–")
            elif c.milestone:
                cells.append(f"{r.actual}; {r.status_word}")
            else:
                cells.append(f"{r.actual} (forventet {r.expected}); {r.status_word}")
        out.append(CourseChart(c.target_id, c.heading, c.chart, cells))
    return out


def chart_quarters(ri: ReportInput) -> list[str]:
    """The column heads of the page of charts' table: the quarters it shows."""
    if not ri.results:
        return []
    earlier = sorted({pq.quarter for pq in ri.course if pq.quarter < str(ri.quarter)})
    return [Quarter.parse(q).label_da for q in [*earlier, str(ri.quarter)]]


def build(ri: ReportInput, changes: dict[str, Any] | None = None) -> ReportView:
    catalogue = {t.target_id: t for t in ri.targets}
    order = {t.target_id: i for i, t in enumerate(ri.targets)}
    previous_label = (ri.quarter - 1).label_da
    comments = _comments_by_initiative(ri.figures, ri.quarter)

    agreements: dict[str, AgreementView] = {}
    themes: dict[tuple[str, str], ThemeView] = {}
    initiatives: dict[tuple[str, str, str], InitiativeView] = {}
    anchors: set[str] = set()

    results = sorted(ri.results, key=lambda r: order.get(r.target_id, len(order)))
    for r in results:
        t = catalogue.get(r.target_id)
        agreement_name = t.agreement if t else NO_AGREEMENT
        theme_name = t.theme if t and t.theme else NO_THEME
        a = agreements.get(agreement_name)
        if a is None:
            a = agreements[agreement_name] = AgreementView(
                agreement_name, _slug(agreement_name, "aftale", anchors)
            )
        th = themes.get((agreement_name, theme_name))
        if th is None:
            th = themes[(agreement_name, theme_name)] = ThemeView(
                theme_name, _slug(theme_name, "tema", anchors)
            )
            a.themes.append(th)
        key = (agreement_name, theme_name, r.initiative)
        ini = initiatives.get(key)
        if ini is None:
            ini = initiatives[key] = InitiativeView(
                r.initiative, t.title if t else r.initiative, t.responsible if t else None
            )
            ini.raw_comments = comments.get(match_key(r.initiative) or "", [])
            ini.comments = [comment_html(c) for c in ini.raw_comments]
            th.initiatives.append(ini)
        tv = target_view(t, r, ri.previous.get(r.target_id), previous_label)
        tv.course_href = f"{ROOT_FROM_REPORT}udvikling.html#{anchor(r.target_id)}"
        (ini.activity if tv.kind in ACTIVITY_KINDS else ini.result).append(tv)
        ini.targets.append(tv)

    for a in agreements.values():
        views = [tv for th in a.themes for ini in th.initiatives for tv in ini.targets]
        a.total = len(views)
        a.counts = [
            StatusCount(
                s,
                *danish.STATUSES[s][:2],
                danish.STATUSES[s][2],
                sum(1 for tv in views if tv.status == s),
            )
            for s in danish.STATUS_ORDER
        ]
        a.off_track = [
            f"{ini.number} {ini.title} (mål {tv.target_id})"
            for th in a.themes
            for ini in th.initiatives
            for tv in ini.targets
            if tv.status == Status.OFF_TRACK
        ]

    names = list(agreements) or sorted({t.agreement for t in ri.targets})
    agreements_text = _join(names) if names else "Statusrapport"
    warn, waived = notes(ri.warnings, ri.waivers)
    return ReportView(
        title=f"Status: {agreements_text} – {ri.quarter.label_da}",
        agreements_text=agreements_text,
        quarter_label=ri.quarter.label_da,
        previous_label=previous_label,
        version=ri.version,
        updated=danish.day(ri.updated),
        agreements=list(agreements.values()),
        warnings=warn,
        waivers=waived,
        changes=changes_view(changes),
        charts=course_charts(ri),
        chart_quarters=chart_quarters(ri),
    )
