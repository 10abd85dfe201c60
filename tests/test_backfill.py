"""`kvartal backfill` and versions of a corrected quarter, as the command runs (CONTRACT §10).

Real `kvartal` processes against the session's Prefect API, the example inbox (2009Q1 to
2009Q3), mail to a loopback SMTP server. What is compared is what a recipient gets: the
published files, byte for byte, and the mails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvartal.notify import SmtpSettings
from tests.support.links import dead_links
from tests.support.smtp import Inbox

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "inbox"
QUARTERS = ["2009Q1", "2009Q2", "2009Q3"]
TO = "udvalg@kommune.example"


def _env(prefect_api: str, smtp: SmtpSettings | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVARTAL_")}
    env["PREFECT_API_URL"] = prefect_api
    if smtp is not None:
        env.update(
            KVARTAL_SMTP_HOST="127.0.0.1",
            KVARTAL_SMTP_PORT=str(smtp.port),
            KVARTAL_SMTP_FROM="kvartal@kommune.example",
            KVARTAL_RECIPIENTS=f"*={TO}",
        )
    return env


def _kvartal(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvartal.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def test_backfill_publishes_each_quarter_as_separate_runs_would_and_again_nothing(
    tmp_path: Path, prefect_api: str
) -> None:
    env = _env(prefect_api)
    filled, separate = tmp_path / "filled", tmp_path / "separate"
    args = ["--inbox", str(EXAMPLE), "--review-to", str(tmp_path / "review")]

    done = _kvartal(
        env, tmp_path, "backfill", "--from", "2009Q1", "--to", "2009Q3", "--publish-to",
        str(filled), *args,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line.split(" ")[:3] for line in done.stdout.splitlines()] == [
        [f"{q}:", "udgivet", "version"] for q in QUARTERS
    ]
    for q in QUARTERS:
        one = _kvartal(env, tmp_path, "run", "--quarter", q, "--publish-to", str(separate), *args)
        assert one.returncode == 0, one.stderr[-3000:]
    for q in QUARTERS:
        assert (filled / q / "fulfilment.json").read_bytes() == (
            separate / q / "fulfilment.json"
        ).read_bytes(), q
        assert (filled / q / "versions/1/manifest.json").is_file()
        assert not (filled / q / "versions/2").exists()
        assert not (filled / q / "changes.json").exists()  # version 1 changed nothing

    # udvikling.json: every target and quarter, exactly the quarter's fulfilment.json values
    trend = _json(filled / "udvikling.json")
    shown = {(t["target_id"], q["quarter"]): q for t in trend["targets"] for q in t["quarters"]}
    expected = {
        (t["target_id"], q): t
        for q in QUARTERS
        for t in _json(filled / q / "fulfilment.json")["targets"]
    }
    assert set(shown) == set(expected)
    for key, t in expected.items():
        q = shown[key]
        assert q["version"] == 1
        for name in ("actual", "expected_to_date", "status"):
            assert q[name] == t[name], (key, name)
    assert (filled / "udvikling.html").is_file()
    assert 'href="udvikling.html"' in (filled / "index.html").read_text("utf-8")
    assert dead_links(filled) == []

    # again: nothing new is published, not a byte nor a file time changes
    before = _snapshot(filled)
    again = _kvartal(
        env, tmp_path, "backfill", "--from", "2009Q1", "--to", "2009Q3", "--publish-to",
        str(filled), *args,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert all("allerede udgivet" in line for line in again.stdout.splitlines())
    assert _snapshot(filled) == before


def test_corrected_quarter_gives_version_2_with_its_changes_in_file_page_and_mail(
    tmp_path: Path, prefect_api: str, smtp: tuple[Inbox, SmtpSettings]
) -> None:
    mail, smtp_settings = smtp
    env = _env(prefect_api, smtp_settings)
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    published = tmp_path / "published"
    args = [
        "--inbox", str(inbox), "--publish-to", str(published),
        "--review-to", str(tmp_path / "review"),
    ]  # fmt: skip
    first = _kvartal(env, tmp_path, "backfill", "--from", "2009Q2", "--to", "2009Q3", *args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert not (published / "2009Q3/versions/1/changes.json").exists()

    # BIF Stab corrects its course count for 2009Q3: 26 -> 30
    figures = inbox / "2009Q3" / "BIF Stab.csv"
    text = figures.read_text("utf-8-sig")
    assert text.count("1.7,kursister,2009Q3,26,") == 1
    figures.write_text(
        text.replace("1.7,kursister,2009Q3,26,", "1.7,kursister,2009Q3,30,"), "utf-8-sig"
    )
    second = _kvartal(env, tmp_path, "run", "--quarter", "2009Q3", *args)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "2009Q3 version 2 udgivet" in second.stdout

    v1 = {
        t["target_id"]: t for t in _json(published / "2009Q3/versions/1/fulfilment.json")["targets"]
    }
    v2 = {
        t["target_id"]: t for t in _json(published / "2009Q3/versions/2/fulfilment.json")["targets"]
    }
    differing = {tid for tid in v1.keys() | v2.keys() if v1.get(tid) != v2.get(tid)}
    assert differing  # the correction moved at least the course target's figures

    changes = _json(published / "2009Q3/versions/2/changes.json")
    assert (changes["quarter"], changes["version"], changes["since"]) == ("2009Q3", 2, 1)
    assert {c["target_id"] for c in changes["targets"]} == differing
    for c in changes["targets"]:
        assert v1[c["target_id"]][c["field"]] == c["before"]
        assert v2[c["target_id"]][c["field"]] == c["after"]
    # 1.7's course target counts the whole window up to 2009Q3: four more
    course = [c for c in changes["targets"] if c["field"] == "actual"]
    assert course and all(c["after"] - c["before"] == 4 for c in course)
    assert [s["file"] for s in changes["sources"]] == ["2009Q3/BIF Stab.csv"]
    assert changes["waivers"] == {"added": [], "removed": []}
    # in the manifest with its sha256, like every file of the version
    manifest = _json(published / "2009Q3/versions/2/manifest.json")
    assert "changes.json" in [f["name"] for f in manifest["files"]]

    # the report's first page and the recipients' mail for version 2 name the targets
    messages = {str(m["Subject"]): m for _, m in mail.messages}
    assert sorted(messages) == [
        "Status 2. kvartal 2009, version 1",
        "Status 3. kvartal 2009, version 1",
        "Status 3. kvartal 2009, version 2",
    ]
    body = messages["Status 3. kvartal 2009, version 2"].get_content()
    page = (published / "2009Q3/versions/2/report.html").read_text("utf-8")
    assert "Ændret siden version 1" in body and "Ændret siden version 1" in page
    for tid in differing:
        assert f"Mål {tid}: " in body, tid
        assert f"Mål {tid}: " in page, tid
    assert "Ændret siden" not in messages["Status 3. kvartal 2009, version 1"].get_content()

    # the trend follows the republished quarter
    trend = _json(published / "udvikling.json")
    q3 = [q for t in trend["targets"] for q in t["quarters"] if q["quarter"] == "2009Q3"]
    assert q3 and {q["version"] for q in q3} == {2}
    for t in trend["targets"]:
        for q in t["quarters"]:
            if q["quarter"] == "2009Q3":
                assert q["actual"] == v2[t["target_id"]]["actual"]
    # every page's links lead to a published file: version 1's page, version 2's, and the
    # copy at 2009Q3/ that now holds version 2
    assert dead_links(published) == []
    assert 'href="../udvikling.html#' in (published / "2009Q3/report.html").read_text("utf-8")
