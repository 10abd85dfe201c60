"""`kvartal run-all` with no Prefect server: three copies of the example inbox, one correct,
one with a figure that is not a number, one missing (CONTRACT §8)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "inbox"

REGISTER = """\
summary_to = "drift/oversigt"

[[inbox]]
name = "København"
inbox = "indbakker/kbh"
publish_to = "rapporter/kbh"
review_to = "drift/kbh"

[[inbox]]
name = "Aarhus"
inbox = "indbakker/aarhus"
publish_to = "rapporter/aarhus"
review_to = "drift/aarhus"

[[inbox]]
name = "Odense"
inbox = "indbakker/odense-findes-ikke"
publish_to = "rapporter/odense"
review_to = "drift/odense"
"""


def _kvartal(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    return subprocess.run(
        [sys.executable, "-m", "kvartal.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_run_all_runs_every_inbox_and_reports_each(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "indbakker" / "kbh")
    shutil.copytree(EXAMPLE, tmp_path / "indbakker" / "aarhus")
    bad = tmp_path / "indbakker" / "aarhus" / "2009Q3" / "BIF Stab.csv"
    text = bad.read_text("utf-8-sig")
    assert "1.7,kursister,2009Q3,26," in text
    bad.write_text(
        text.replace("1.7,kursister,2009Q3,26,", "1.7,kursister,2009Q3,abc,", 1), "utf-8-sig"
    )
    (tmp_path / "register.toml").write_text(REGISTER, "utf-8")

    done = _kvartal(tmp_path, "run-all", "--quarter", "2009Q3", "--register", "register.toml")
    assert done.returncode == 1, done.stderr[-3000:]  # one inbox failed: 1 beats 2
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["København", "Aarhus", "Odense"]
    assert lines[0].startswith("København: udgivet version 1")
    assert lines[1].startswith("Aarhus: blokeret: 1 fejl")
    assert lines[2].startswith("Odense: fejl: Indbakken")
    # a blocked inbox is an ending kvartal means: its message, no Python traceback
    assert "2009Q3: 1 fejl blokerer udgivelsen" in done.stderr
    assert "raise QuarterBlocked" not in done.stderr
    # the temporary server is gone when the command ends: no link to it is printed
    assert "View at" not in done.stderr and "127.0.0.1" not in done.stdout + done.stderr

    # the published inbox has its report; the blocked one published nothing
    assert (tmp_path / "rapporter/kbh/2009Q3/manifest.json").is_file()
    assert not (tmp_path / "rapporter/aarhus").exists()
    problems = json.loads((tmp_path / "drift/aarhus/2009Q3/validation.json").read_text())
    blocking = [p for p in problems if p["severity"] == "fejl"]
    assert [(p["file"], p["cell"], p["value"]) for p in blocking] == [
        ("2009Q3/BIF Stab.csv", "D2", "abc")
    ]

    summary = json.loads((tmp_path / "drift/oversigt/2009Q3/oversigt.json").read_text("utf-8"))
    assert summary["quarter"] == "2009Q3"
    assert summary["counts"] == {"udgivet": 1, "blokeret": 1, "fejl": 1}
    by_name = {i["name"]: i for i in summary["inboxes"]}
    assert by_name["København"]["version"] == 1
    assert by_name["Aarhus"]["errors"] == 1
    assert by_name["Aarhus"]["review"] == f"{tmp_path}/drift/aarhus/2009Q3/validation.html"
    assert "findes ikke" in by_name["Odense"]["reason"]
    html = (tmp_path / "drift/oversigt/2009Q3/oversigt.html").read_text("utf-8")
    assert f'href="file://{tmp_path}/drift/aarhus/2009Q3/validation.html"' in html
    # the example's five centres all delivered, BIF Stab on 7 October, after the deadline
    # of 5 October 23:59 (examples/inbox/.afleveringstider.json); none with errors
    assert by_name["København"]["summary"] == {
        "expected": 5,
        "delivered": 5,
        "on_time": 4,
        "without_errors": 5,
    }
    assert by_name["Odense"]["summary"] is None  # no inbox, nothing collected
    assert "<td>5 af 5 afleveret, 4 til tiden, 5 uden fejl</td>" in html

    # the same inbox through its own `kvartal run`: the same figures, byte for byte
    alone = _kvartal(
        tmp_path,
        "run",
        "--quarter",
        "2009Q3",
        "--inbox",
        "indbakker/kbh",
        "--publish-to",
        "alene/kbh",
        "--review-to",
        "drift/alene",
    )
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert (tmp_path / "alene/kbh/2009Q3/fulfilment.json").read_bytes() == (
        tmp_path / "rapporter/kbh/2009Q3/fulfilment.json"
    ).read_bytes()

    # without the missing inbox, the blocked one decides: exit 2; the published one is kept
    (tmp_path / "register.toml").write_text(REGISTER.split('[[inbox]]\nname = "Odense"')[0])
    again = _kvartal(tmp_path, "run-all", "--quarter", "2009Q3", "--register", "register.toml")
    assert again.returncode == 2, again.stderr[-3000:]
    assert again.stdout.splitlines()[0] == (
        "København: udgivet version 1 (allerede udgivet med samme indhold): "
        f"{tmp_path}/rapporter/kbh/2009Q3/report.html"
    )


def test_a_bad_register_exits_1_naming_the_file(tmp_path):
    (tmp_path / "r.toml").write_text('summary_to = "x"\n', "utf-8")
    done = _kvartal(tmp_path, "run-all", "--quarter", "2009Q3", "--register", "r.toml")
    assert done.returncode == 1
    assert "r.toml: registret har ingen indbakker" in done.stderr
