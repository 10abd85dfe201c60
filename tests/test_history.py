"""History (CONTRACT §10) without a server: changes.json between two published versions, the
first page and the mail that say them, and udvikling.* from what is published.

Versions are published with `kvartal.publish.publish` into a local folder, with
fulfilment.json files written out by hand here, so every expected value below is read off
the inputs, not produced by the code under test.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kvartal.history import (
    TREND_HTML,
    TREND_JSON,
    TREND_MANIFEST,
    Previous,
    anchor,
    changes_doc,
    previous_version,
    published_change_lines,
    write_trend,
)
from kvartal.history.changes import HistoryError
from kvartal.notify import message_text
from kvartal.publish import publish
from kvartal.report import changes_of, file_at_quarter, fulfilment_json, render_all, render_html
from kvartal.storage import open_storage
from tests.test_report import sample_input, text_of

WHEN = datetime(2009, 11, 26, 9, 0, tzinfo=UTC)


def _target(tid: str, actual: float | None, status: str, expected: float = 37.5) -> dict[str, Any]:
    return {
        "target_id": tid,
        "initiative": tid.split("-")[0],
        "metric": "deltagere",
        "unit": "antal",
        "direction": "mindst",
        "target": 150,
        "target_max": None,
        "window": ["2009Q1", "2009Q4"],
        "elapsed": 1,
        "actual": actual,
        "expected_to_date": expected,
        "fulfilment": None if actual is None else round(actual / 150, 4),
        "pace": None if actual is None else round(actual / expected, 4),
        "forecast": None,
        "status": status,
        "above_range": False,
        "approximate": False,
    }


def _fulfilment(quarter: str, version: int, targets: list[dict[str, Any]]) -> bytes:
    doc = {"quarter": quarter, "version": version, "targets": targets}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def _publish(
    where: Path, quarter: str, fp: str, targets: list[dict[str, Any]], sources: list[Any]
) -> Any:
    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        return {
            "fulfilment.json": _fulfilment(quarter, n, targets),
            "report.html": f"<p>{quarter} v{n}</p>".encode(),
        }

    return publish(
        open_storage(str(where)),
        quarter,
        fingerprint=fp,
        render=render,
        manifest_extra={"sources": sources, "waivers": []},
        index_renderer=lambda entries: b"index",
        now=WHEN,
    )


SRC_A = {"path": "2009Q1/a.csv", "sha256": "a" * 64, "size": 1}
SRC_B = {"path": "2009Q1/b.csv", "sha256": "b" * 64, "size": 1}


# --- changes.json ---------------------------------------------------------------------------


def test_changes_name_exactly_the_targets_fields_sources_and_waivers_that_differ() -> None:
    before = {
        "quarter": "2009Q3",
        "version": 1,
        "targets": [_target("1.4-a", 71, "off_track"), _target("1.5-a", 147, "on_track")],
    }
    after = _fulfilment(
        "2009Q3", 2, [_target("1.4-a", 74, "off_track"), _target("1.5-a", 147, "on_track")]
    )
    waiver = {
        "file": "2009Q3/a.csv",
        "cell": "D3",
        "rule": "ikke_tal",
        "reason": "Tastefejl",
        "approved_by": "Olsen",
    }
    previous = Previous(
        1,
        {
            "sources": [SRC_A, {**SRC_B, "sha256": "0" * 64}],
            "waivers": [{**waiver, "problem": {"rule": "ikke_tal"}}],
        },
        before,
    )
    doc = changes_doc("2009Q3", 2, previous, after, [SRC_A, SRC_B], [])
    # 71 -> 74: fulfilment 71/150 = 0.4733 -> 74/150 = 0.4933; pace 71/37.5 = 1.8933 ->
    # 74/37.5 = 1.9733; the status stays off_track; 1.5-a is unchanged.
    assert doc == {
        "quarter": "2009Q3",
        "version": 2,
        "since": 1,
        "targets": [
            {"target_id": "1.4-a", "field": "actual", "before": 71, "after": 74},
            {"target_id": "1.4-a", "field": "fulfilment", "before": 0.4733, "after": 0.4933},
            {"target_id": "1.4-a", "field": "pace", "before": 1.8933, "after": 1.9733},
        ],
        "sources": [{"file": "2009Q1/b.csv", "before": "0" * 64, "after": "b" * 64}],
        "waivers": {"added": [], "removed": [waiver]},
    }


def test_a_target_on_one_side_only_is_listed_against_null() -> None:
    previous = Previous(1, {}, {"targets": [_target("1.4-a", 71, "off_track")]})
    after = _fulfilment("2009Q3", 2, [_target("2.1-a", None, "no_data")])
    doc = changes_doc("2009Q3", 2, previous, after, [], [])
    assert {c["target_id"] for c in doc["targets"]} == {"1.4-a", "2.1-a"}
    assert {"target_id": "1.4-a", "field": "actual", "before": 71, "after": None} in doc["targets"]
    assert {"target_id": "2.1-a", "field": "status", "before": None, "after": "no_data"} in doc[
        "targets"
    ]


def test_version_2_report_says_what_changed_on_its_first_page_and_publishes_changes_json() -> None:
    ri = sample_input()
    first = json.loads(fulfilment_json(ri))
    # version 1 as published had 1.4-a at 60 where version 2 has 71 (sample_input's figure)
    old = json.loads(json.dumps(first))
    entry = next(t for t in old["targets"] if t["target_id"] == "1.4-a")
    assert entry["actual"] == 71
    entry["actual"] = 60
    ri2 = replace(
        ri,
        version=2,
        since=Previous(1, {"sources": [SRC_A], "waivers": []}, old),
        sources=[SRC_A, SRC_B],
    )
    files = render_all(ri2)
    changes = json.loads(files["changes.json"])
    assert changes["targets"] == [
        {"target_id": "1.4-a", "field": "actual", "before": 60, "after": 71}
    ]
    assert changes["sources"] == [{"file": "2009Q1/b.csv", "before": None, "after": "b" * 64}]
    text = text_of(files["report.html"])
    assert "Ændret siden version 1" in text
    assert "Mål 1.4-a: faktisk 60 → 71" in text
    assert "2009Q1/b.csv: ny fil" in text
    # on the first page: before the summary
    assert text.index("Ændret siden version 1") < text.index("Sammenfatning")


def test_version_1_has_no_changes() -> None:
    # (render_all of version 1 gives exactly four files: tests/test_repeatable.py)
    ri = sample_input()
    assert changes_of(ri, fulfilment_json(ri)) is None
    assert "Ændret siden" not in text_of(render_html(ri))


def test_each_report_target_links_to_its_course() -> None:
    html = render_html(sample_input()).decode()
    assert f'href="../../../udvikling.html#{anchor("1.4-a")}"' in html
    assert anchor("1.4-A") == anchor("1.4-a") == "mal-1_2e_4-a"


def test_the_copy_at_the_quarter_links_each_target_from_where_it_lies() -> None:
    """`<quarter>/report.html` is two folders nearer the publish root than the version's
    page: its links to the courses lead two levels less up, and nothing else differs."""
    html = render_html(sample_input())
    copy = file_at_quarter("report.html", html).decode()
    assert f'href="../udvikling.html#{anchor("1.4-a")}"' in copy
    assert "../../../" not in copy
    assert copy.replace('href="../', 'href="../../../') == html.decode()
    for name in ("report.pdf", "report.xlsx", "fulfilment.json", "changes.json"):
        assert file_at_quarter(name, b'href="../../../x"') == b'href="../../../x"'


def test_previous_version_is_read_as_published_and_checked(tmp_path: Path) -> None:
    _publish(tmp_path, "2009Q1", "fp-1", [_target("1.1-a", 40, "on_track")], [SRC_A])
    storage = open_storage(str(tmp_path))
    assert previous_version(storage, "2009Q1", 1) is None
    prev = previous_version(storage, "2009Q1", 2)
    assert prev is not None and prev.version == 1
    assert prev.fulfilment["targets"][0]["actual"] == 40
    assert prev.manifest["sources"] == [SRC_A]
    with pytest.raises(HistoryError, match="Version 2 af 2009Q1 er ikke udgivet"):
        previous_version(storage, "2009Q1", 3)
    # a published file that no longer matches its manifest is refused, never compared
    (tmp_path / "2009Q1/versions/1/fulfilment.json").write_text("{}", "utf-8")
    with pytest.raises(HistoryError, match="stemmer ikke med sit manifest"):
        previous_version(storage, "2009Q1", 2)


def test_the_mail_for_version_2_lists_the_published_changes(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path))
    doc = {
        "quarter": "2009Q3",
        "version": 2,
        "since": 1,
        "targets": [
            {"target_id": "1.4-a", "field": "actual", "before": 71, "after": 74},
            {"target_id": "1.4-a", "field": "status", "before": "off_track", "after": "at_risk"},
        ],
        "sources": [{"file": "2009Q3/a.csv", "before": "a" * 64, "after": "c" * 64}],
        "waivers": {"added": [], "removed": []},
    }
    storage.write("2009Q3/versions/2/changes.json", json.dumps(doc).encode())
    lines = published_change_lines(storage, "2009Q3", 2)
    assert lines == [
        "Ændret siden version 1:",
        "  - Mål 1.4-a: faktisk 71 → 74",
        "  - Mål 1.4-a: status Bagud → I risiko",
        "  - 2009Q3/a.csv: ændret",
    ]
    text = message_text("2009Q3", 2, {"at_risk": 1}, [], {}, lines)
    assert "  - Mål 1.4-a: faktisk 71 → 74\n" in text
    assert published_change_lines(storage, "2009Q3", 1) == []


# --- udvikling.json / .html -----------------------------------------------------------------


def _trend(where: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((where / TREND_JSON).read_text("utf-8"))
    return result


def test_trend_holds_each_quarters_newest_published_values_and_follows_a_correction(
    tmp_path: Path,
) -> None:
    _publish(tmp_path, "2009Q1", "q1-a", [_target("1.1-a", 40, "on_track")], [SRC_A])
    _publish(
        tmp_path,
        "2009Q2",
        "q2-a",
        [_target("1.1-a", 70, "at_risk", 75), _target("1.2-a", None, "no_data")],
        [SRC_A],
    )
    trend = _trend(tmp_path)
    assert [t["target_id"] for t in trend["targets"]] == ["1.1-a", "1.2-a"]
    first = trend["targets"][0]
    assert (first["initiative"], first["unit"]) == ("1.1", "antal")
    assert [
        (q["quarter"], q["version"], q["actual"], q["expected_to_date"], q["status"])
        for q in first["quarters"]
    ] == [("2009Q1", 1, 40, 37.5, "on_track"), ("2009Q2", 1, 70, 75, "at_risk")]
    # 1.2-a is only in 2009Q2's fulfilment.json
    assert [q["quarter"] for q in trend["targets"][1]["quarters"]] == ["2009Q2"]

    # 2009Q1 corrected: version 2, and the trend shows it instead of version 1
    _publish(tmp_path, "2009Q1", "q1-b", [_target("1.1-a", 44, "on_track")], [SRC_B])
    q1 = _trend(tmp_path)["targets"][0]["quarters"][0]
    assert (q1["quarter"], q1["version"], q1["actual"], q1["fulfilment"]) == (
        "2009Q1",
        2,
        44,
        0.2933,
    )

    # the root manifest names both files with their sha256, and the versions shown
    manifest = json.loads((tmp_path / TREND_MANIFEST).read_text("utf-8"))
    for entry in manifest["files"]:
        data = (tmp_path / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    assert sorted(e["name"] for e in manifest["files"]) == [TREND_HTML, TREND_JSON]
    assert [(q["quarter"], q["version"]) for q in manifest["quarters"]] == [
        ("2009Q1", 2),
        ("2009Q2", 1),
    ]

    # the page links each quarter's version that it shows
    html = (tmp_path / TREND_HTML).read_text("utf-8")
    assert 'href="2009Q1/versions/2/report.html"' in html
    assert 'href="2009Q1/versions/1/report.html"' not in html
    assert f'id="{anchor("1.1-a")}"' in html


def test_publishing_the_same_again_writes_nothing_and_a_rebuild_is_byte_identical(
    tmp_path: Path,
) -> None:
    _publish(tmp_path, "2009Q1", "q1-a", [_target("1.1-a", 40, "on_track")], [SRC_A])
    before = {n: (tmp_path / n).read_bytes() for n in (TREND_JSON, TREND_HTML, TREND_MANIFEST)}
    again = _publish(tmp_path, "2009Q1", "q1-a", [_target("1.1-a", 40, "on_track")], [SRC_A])
    assert again.written == []
    # drawn from scratch (the manifest gone), the same bytes
    (tmp_path / TREND_MANIFEST).unlink()
    assert write_trend(open_storage(str(tmp_path))) is True
    after = {n: (tmp_path / n).read_bytes() for n in (TREND_JSON, TREND_HTML, TREND_MANIFEST)}
    assert after == before


def test_a_version_without_its_manifest_is_not_shown(tmp_path: Path) -> None:
    _publish(tmp_path, "2009Q1", "q1-a", [_target("1.1-a", 40, "on_track")], [SRC_A])
    # an unfinished version 2: its files are there, its manifest is not
    (tmp_path / "2009Q1/versions/2").mkdir()
    (tmp_path / "2009Q1/versions/2/fulfilment.json").write_bytes(
        _fulfilment("2009Q1", 2, [_target("1.1-a", 99, "achieved")])
    )
    (tmp_path / TREND_MANIFEST).unlink()
    write_trend(open_storage(str(tmp_path)))
    q = _trend(tmp_path)["targets"][0]["quarters"]
    assert [(e["version"], e["actual"]) for e in q] == [(1, 40)]


def test_trend_page_has_a_chart_and_the_same_numbers_as_a_table(tmp_path: Path) -> None:
    _publish(tmp_path, "2009Q1", "q1-a", [_target("1.1-a", 40, "on_track")], [SRC_A])
    _publish(tmp_path, "2009Q2", "q2-a", [_target("1.1-a", 1400, "achieved", 75)], [SRC_A])
    html = (tmp_path / TREND_HTML).read_text("utf-8")
    assert html.count("<svg ") == 1 and 'role="img"' in html
    assert "url(" not in html and "<script" not in html
    text = text_of(html.encode())
    assert "1. kvartal 2009 (version 1) 40 37,5 mindst 150 27 % ● På sporet" in text
    assert "2. kvartal 2009 (version 1) 1.400 75 mindst 150 933 % ✓ Opfyldt" in text


def test_a_chart_is_the_same_whatever_was_drawn_before_it() -> None:
    """Charts share one figure; nothing of one (its scale, its ticks, a line without
    figures) may leak into the next, or a rebuild would give other bytes."""
    from kvartal.history.page import chart_svg

    def course(quarters: list[str], actual: list[float | None]) -> dict[str, Any]:
        return {
            "unit": "antal",
            "quarters": [
                {"quarter": q, "actual": a, "expected_to_date": 37.5 * (i + 1), "target": 150}
                for i, (q, a) in enumerate(zip(quarters, actual, strict=True))
            ],
        }

    many = course(
        [f"{2009 + i // 4}Q{i % 4 + 1}" for i in range(12)], [float(i) for i in range(12)]
    )
    one = course(["2009Q1"], [None])
    first = chart_svg(many, "a", "c1")
    chart_svg(one, "b", "c2")
    assert chart_svg(many, "a", "c1") == first
    assert first is not None and "K1 2010" in first and "K2 2009" not in first


def test_backfill_refuses_a_reversed_span_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kvartal.cli import main

    code = main(
        ["backfill", "--from", "2009Q3", "--to", "2009Q1", "--inbox", str(tmp_path / "in"),
         "--publish-to", str(tmp_path / "out"), "--review-to", str(tmp_path / "review")]
    )  # fmt: skip
    assert code == 1
    assert "--from 2009Q3 ligger efter --to 2009Q1" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_changed_numbers_read_as_the_report_rounds_them_unless_that_hides_the_change() -> None:
    from kvartal.history.changes import change_lines

    doc = {
        "targets": [
            # 284/3 -> 296/3: the report's one decimal shows the change
            {"target_id": "1.4-a", "field": "forecast", "before": 94.66667, "after": 98.66667},
            # 71 -> 71.04: one decimal would read "71 → 71", so two are shown
            {"target_id": "1.5-a", "field": "actual", "before": 71, "after": 71.04},
        ]
    }
    assert change_lines(doc)["targets"] == [
        "Mål 1.4-a: prognose 94,7 → 98,7",
        "Mål 1.5-a: faktisk 71 → 71,04",
    ]
