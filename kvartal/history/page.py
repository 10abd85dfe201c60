"""udvikling.html and the report's page of charts: matplotlib's SVG, and the same numbers
as tables.

matplotlib draws with its own SVG backend, in this process, with no browser or JavaScript
runtime (docs/design.md, "History"). The SVG is made byte-repeatable: a fixed
`svg.hashsalt` for the ids, no date in the metadata, text as text (not glyph paths: smaller,
and a screen reader that enters it reads words). Ids are prefixed per chart so that many
charts on one page never share one.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from kvartal.history.trend import anchor
from kvartal.quarters import Quarter, QuarterError

COLOURS = {"actual": "#0b4f9c", "expected": "#8a4b00", "target": "#6e6e6e"}
_rc_done = False


def _matplotlib() -> Any:
    """matplotlib's Figure with the settings that make its SVG repeatable and light."""
    global _rc_done
    import matplotlib

    if not _rc_done:
        matplotlib.rcParams.update(
            {
                "svg.hashsalt": "kvartal",
                "svg.fonttype": "none",
                "font.family": "DejaVu Sans",
                "font.size": 7,
                "axes.spines.top": False,
                "axes.spines.right": False,
                "axes.linewidth": 0.6,
                "xtick.major.width": 0.6,
                "ytick.major.width": 0.6,
                "lines.linewidth": 1.4,
                "legend.frameon": False,
            }
        )
        _rc_done = True
    from matplotlib.figure import Figure

    return Figure


def _label(quarter: str) -> str:
    try:
        q = Quarter.parse(quarter)
    except QuarterError:
        return quarter
    return q.label_da


def _ticks(quarters: list[str]) -> tuple[list[int], list[str]]:
    """Every quarter when there are few; else the first and each year's first quarter (a
    label per quarter would not fit, and each tick costs time to draw)."""
    at, labels = [], []
    every = len(quarters) <= 5
    for i, text in enumerate(quarters):
        try:
            q = Quarter.parse(text)
        except QuarterError:
            continue
        if every or i == 0 or q.q == 1:
            at.append(i)
            labels.append(f"K{q.q} {q.year}")
    if not every and len(at) > 1 and at[1] - at[0] < 2:  # the first label would overlap the next
        at, labels = at[1:], labels[1:]
    return at, labels


_ID = re.compile(r'\bid="([^"]+)"')
_GROUP_ID = re.compile(r'<g id="[^"]+">')
_CLIP_USE = re.compile(r' clip-path="url\(#[^"]*\)"')
_CLIP_DEF = re.compile(r"<clipPath\b.*?</clipPath>", re.S)
_SPACE = re.compile(r"\s*\n\s*")
_GEOMETRY = re.compile(r'\b(d|x|y|transform)="([^"]*)"')
_LONG = re.compile(r"(-?\d+\.\d\d)\d+")


def _compact(svg: str) -> str:
    """Drop what no reader or renderer uses: group ids, line breaks and indentation, and
    coordinates beyond a hundredth of a point."""
    svg = _GROUP_ID.sub("<g>", svg)
    # Lines are scaled to fit, so nothing needs clipping; and the page says `url(` nowhere.
    svg = _CLIP_USE.sub("", svg)
    svg = _CLIP_DEF.sub("", svg)
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace(
        "xlink:href=", "href="
    )
    svg = _SPACE.sub(" ", svg).replace("> <", "><")

    def shorter(m: re.Match[str]) -> str:
        return m[1] + '="' + _LONG.sub(r"\1", m[2]) + '"'

    return _GEOMETRY.sub(shorter, svg)


def _prefix_ids(svg: str, prefix: str) -> str:
    ids = set(_ID.findall(svg))
    if not ids:
        return svg
    pattern = re.compile(r'(id="|#)(' + "|".join(re.escape(i) for i in sorted(ids)) + r')(?=["\)])')
    return pattern.sub(lambda m: f"{m[1]}{prefix}-{m[2]}", svg)


def chart_svg(target: dict[str, Any], title: str, prefix: str) -> Markup | None:
    """A small line chart of actual, expected-to-date and target per quarter; None for a
    milestone or a target without a number in any quarter."""
    rows = target["quarters"]
    if target.get("unit") == "milepæl" or not rows:
        return None
    series = {
        name: [r.get(key) for r in rows]
        for name, key in (
            ("actual", "actual"),
            ("expected", "expected_to_date"),
            ("target", "target"),
        )
    }
    if all(v is None for values in series.values() for v in values):
        return None
    x = list(range(len(rows)))
    with _lock:
        canvas = _canvas()
        ax = canvas.axes
        for name, line in canvas.lines.items():
            values = series[name]
            line.set_visible(any(v is not None for v in values))
            line.set_data(x, [float("nan") if v is None else float(v) for v in values])
        ax.relim(visible_only=True)
        ax.set_autoscalex_on(True)
        ax.autoscale_view()
        ax.set_xticks(*_ticks([r["quarter"] for r in rows]))
        if len(x) == 1:
            ax.set_xlim(-0.5, 0.5)
        out = io.StringIO()
        canvas.figure.savefig(out, format="svg", metadata={"Date": None})
    return Markup(_accessible(out.getvalue(), title, prefix))


@dataclass
class _Canvas:
    figure: Any
    axes: Any
    lines: dict[str, Any]


_lock = threading.Lock()
_drawn: list[_Canvas] = []


def _canvas() -> _Canvas:
    """One figure for every chart of the process, its lines given new data each time:
    making a figure and its ticks anew costs more than drawing it (bench/history.py)."""
    if _drawn:
        return _drawn[0]
    from matplotlib.ticker import MaxNLocator

    from kvartal.report import danish

    figure = _matplotlib()(figsize=(3.2, 1.5))
    ax = figure.add_axes((0.15, 0.16, 0.82, 0.78))
    styles: dict[str, dict[str, Any]] = {
        "target": {"label": "Mål", "linewidth": 2.4, "drawstyle": "steps-mid"},
        "expected": {"label": "Forventet til dato", "linestyle": "--"},
        "actual": {"label": "Faktisk", "marker": "o", "markersize": 3},
    }
    # in this order, so the actual figures are drawn on top
    lines = {
        name: ax.plot([], [], color=COLOURS[name], **style)[0] for name, style in styles.items()
    }
    ax.yaxis.set_major_formatter(lambda v, _pos: danish.number(v, 1))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.margins(x=0.05)
    _drawn.append(_Canvas(figure, ax, lines))
    return _drawn[0]


def _accessible(svg: str, title: str, prefix: str) -> str:
    """The bare <svg> element, an image with a name; its table carries the numbers."""
    from markupsafe import escape

    start = svg.index("<svg")
    svg = svg[start:]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    svg = _compact(svg)
    svg = _prefix_ids(svg, prefix)
    svg = svg.replace(
        "<svg ",
        f'<svg role="img" aria-label="{escape(title)}" focusable="false" ',
        1,
    )
    return svg.strip() + "\n"


@dataclass
class Row:
    quarter: str
    label: str
    version: int
    href: str
    actual: str
    expected: str
    target: str
    fulfilment: str
    status: str
    status_word: str
    status_symbol: str
    status_class: str


@dataclass
class TargetCourse:
    target_id: str
    anchor: str
    heading: str
    unit: str
    chart: Markup | None
    rows: list[Row] = field(default_factory=list)
    milestone: bool = False


def _amount(value: Any, unit: str | None) -> str:
    from kvartal.report import danish

    if value is None:
        return "–"
    return danish.amount(float(value), unit or "antal")


def _day(text: Any) -> str:
    """An ISO date from fulfilment.json as a Danish reader writes it: 15.8.2009."""
    from datetime import date

    from kvartal.report import danish

    try:
        return danish.day(date.fromisoformat(str(text)))
    except ValueError:
        return str(text)


def _target_text(q: dict[str, Any], unit: str | None, direction: str | None) -> str:
    if unit == "milepæl":
        due = q.get("due")
        return f"frist {_day(due)}" if due else "–"
    if q.get("target") is None:
        return "–"
    if direction == "interval" and q.get("target_max") is not None:
        return f"{_amount(q['target'], unit)}–{_amount(q['target_max'], unit)}"
    word = "højst " if direction == "højst" else "mindst " if direction == "mindst" else ""
    return word + _amount(q["target"], unit)


def courses(doc: dict[str, Any], root: str = "") -> list[TargetCourse]:
    """What the page shows for each target; `root` leads from the page to the publish root."""
    from kvartal.report import danish

    out = []
    for n, t in enumerate(doc["targets"], start=1):
        unit, direction = t.get("unit"), t.get("direction")
        what = f"{t.get('metric')}, {unit}" if t.get("metric") else str(unit)
        heading = f"Mål {t['target_id']} (indsats {t.get('initiative')}; {what})"
        rows = []
        for q in t["quarters"]:
            word, symbol, css = danish.STATUSES.get(
                str(q.get("status")), (str(q.get("status")), "?", "no-data")
            )
            actual = (
                (f"nået {_day(q['reached'])}" if q.get("reached") else "ikke nået")
                if unit == "milepæl"
                else _amount(q.get("actual"), unit)
            )
            rows.append(
                Row(
                    quarter=q["quarter"],
                    label=_label(q["quarter"]),
                    version=q["version"],
                    href=f"{root}{q['quarter']}/versions/{q['version']}/report.html",
                    actual=actual,
                    expected=_amount(q.get("expected_to_date"), unit) if unit != "milepæl" else "–",
                    target=_target_text(q, unit, direction),
                    fulfilment=danish.percent(float(q["fulfilment"]))
                    if q.get("fulfilment") is not None
                    else "–",
                    status=str(q.get("status")),
                    status_word=word,
                    status_symbol=symbol,
                    status_class=css,
                )
            )
        title = (
            f"Udviklingen for mål {t['target_id']}: faktisk, forventet til dato og mål pr. "
            "kvartal; tallene står i tabellen nedenfor"
        )
        out.append(
            TargetCourse(
                target_id=t["target_id"],
                anchor=anchor(t["target_id"]),
                heading=heading,
                unit=str(unit),
                chart=chart_svg(t, title, f"c{n}"),
                rows=rows,
                milestone=unit == "milepæl",
            )
        )
    return out


def trend_html(doc: dict[str, Any]) -> bytes:
    from kvartal.report.pages import environment

    items = courses(doc)
    quarters = sorted(
        {(r.quarter, r.label) for c in items for r in c.rows},
        key=lambda pair: pair[0],
    )
    text = (
        environment()
        .get_template("udvikling.html.j2")
        .render(courses=items, quarters=[label for _, label in quarters])
    )
    return text.encode("utf-8")
