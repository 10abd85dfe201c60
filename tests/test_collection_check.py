"""The centres' own check and the reminders, with mail to a real SMTP server (aiosmtpd).

The inbox is `tests/data/collection/inbox`; what each centre owes is worked out in its
README. Files are put into the inbox one after another and one is corrected: each content
must produce exactly one mail per address of the centre that delivers it, naming its own
cells and targets and no other centre's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kvartal.cli import main
from tests.support.faults import HOOK_DIR
from tests.support.smtp import Inbox

pytestmark = pytest.mark.slow  # a mail server, and a validation per pass

DATA = Path(__file__).resolve().parent / "data" / "collection" / "inbox"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """The catalogue and contacts only: the centres' files arrive during the test."""
    root = tmp_path / "inbox"
    shutil.copytree(DATA / "targets", root / "targets")
    shutil.copytree(DATA / "2009Q2", root / "2009Q2")
    (root / "2009Q3").mkdir()
    return root


def deliver(inbox: Path, name: str, text: str | None = None) -> None:
    source = DATA / "2009Q3" / name
    data = text.encode("utf-8") if text is not None else source.read_bytes()
    (inbox / "2009Q3" / name).write_bytes(data)


def run(*args: str) -> int:
    return main(list(args))


def check(inbox: Path, review: Path) -> int:
    return run("check", "--quarter", "2009Q3", "--inbox", str(inbox), "--review-to", str(review))


def received(box: Inbox) -> list[tuple[str, str, str]]:
    return [(to[0], str(m["Subject"]), m.get_content()) for to, m in box.messages]


def test_one_mail_per_content_to_the_right_centre(inbox: Path, tmp_path: Path, mail: Inbox):
    review = tmp_path / "review"
    assert check(inbox, review) == 0
    assert mail.messages == []  # nothing delivered yet

    deliver(inbox, "Center A.csv")
    assert check(inbox, review) == 0
    got = received(mail)
    assert [(to, subject) for to, subject, _ in got] == [
        ("a@kommune.example", "Jeres fil til 3. kvartal 2009 er modtaget uden fejl")
    ]
    text = got[0][2]
    assert "Center A.csv" in text and "Filen har ingen fejl." in text
    # Center A owes 1.1-a and 1.2-a; the file has 1.1 only.
    assert "Mål-id 1.2-a" in text and "Mål-id 1.1-a" not in text
    assert "2.1-a" not in text and "center b" not in text.lower()  # nothing of Center B's
    assert "mandag 5. oktober 2009 kl. 23.59" in text

    assert check(inbox, review) == 0  # nothing new: nothing sent
    assert len(mail.messages) == 1

    deliver(inbox, "center b.csv")
    assert check(inbox, review) == 0
    got = received(mail)[1:]
    assert sorted(to for to, _, _ in got) == ["b1@kommune.example", "b2@kommune.example"]
    for _, subject, text in got:
        assert subject == "Jeres fil til 3. kvartal 2009 har 1 fejl"
        assert "celle D2 (kolonne Værdi)" in text and "Værdien i filen: mange" in text
        assert "ikke et tal" in text
        # 2.1's only row is the bad one, so 2.1-a still has no figure; 1.2-a has one (10).
        assert "Mål-id 2.1-a" in text and "1.2-a" not in text and "1.1-a" not in text
        assert "Center A" not in text

    # Corrected: a new content, one new answer per address; Center A hears nothing again.
    deliver(inbox, "center b.csv", "Nr.;Nøgletal;Kvartal;Værdi\n2.1;henviste;2009Q3;40\n")
    assert check(inbox, review) == 0
    got = received(mail)[3:]
    assert sorted(to for to, _, _ in got) == ["b1@kommune.example", "b2@kommune.example"]
    assert {s for _, s, _ in got} == {"Jeres fil til 3. kvartal 2009 er modtaget uden fejl"}
    # The corrected file reports 2.1 only, so the shared 1.2-a now lacks B's figure.
    assert all("Mål-id 1.2-a" in t and "2.1-a" not in t for _, _, t in got)
    assert check(inbox, review) == 0
    assert len(mail.messages) == 5


def test_reminders_on_their_days_once_and_only_to_who_owes(
    inbox: Path, tmp_path: Path, mail: Inbox
):
    review = tmp_path / "review"
    deliver(inbox, "Center A.csv")  # complete-looking: A delivered without errors
    deliver(inbox, "center b.csv")  # with an error: still reminded

    def remind(day: str) -> int:
        return run(
            "remind", "--quarter", "2009Q3", "--inbox", str(inbox), "--review-to", str(review),
            "--day", day,
        )  # fmt: skip

    # Deadline 2009-10-05; reminders 7 and 2 days before: 2009-09-28 and 2009-10-03.
    for quiet in ("2009-09-27", "2009-09-29", "2009-10-05", "2009-10-07"):
        assert remind(quiet) == 0
    assert mail.messages == []

    assert remind("2009-09-28") == 0
    got = received(mail)
    assert sorted(to for to, _, _ in got) == [
        "b1@kommune.example",
        "b2@kommune.example",
        "c@kommune.example",
        "d@kommune.example",
    ]
    by_to = {to: text for to, _, text in got}
    assert "Mål-id 4.1-a" in by_to["d@kommune.example"]
    assert "3.1-a" not in by_to["d@kommune.example"]
    assert "Mål-id 3.1-a" in by_to["c@kommune.example"]
    assert "Mål-id 3.2-a" in by_to["c@kommune.example"]
    assert "3.3-a" not in by_to["c@kommune.example"]  # due before Q3: not owed
    assert "1 fejl" in by_to["b1@kommune.example"]
    assert all("mandag 5. oktober 2009 kl. 23.59" in t for t in by_to.values())

    assert remind("2009-09-28") == 0  # again the same day: nothing twice
    assert len(mail.messages) == 4

    assert remind("2009-10-03") == 0
    assert len(mail.messages) == 8

    assert remind("2009-10-06") == 0  # the day after: the operators, once
    assert remind("2009-10-06") == 0
    ops = received(mail)[8:]
    assert [to for to, _, _ in ops] == ["drift@kommune.example"]
    text = ops[0][2]
    assert "Center C" in text and "Center D" in text and "Center B: 1 fejl" in text


IDLE_PROBE = """
import sys
from kvartal.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("pandas", "great_expectations", "prefect") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
raise SystemExit(code)
"""


def test_idle_check_imports_neither_pandas_nor_great_expectations(
    inbox: Path, tmp_path: Path, mail: Inbox
):
    review = tmp_path / "review"
    deliver(inbox, "Center A.csv")
    assert check(inbox, review) == 0  # the first pass checks it
    assert len(mail.messages) == 1
    proc = subprocess.run(
        [sys.executable, "-c", IDLE_PROBE, "check", "--quarter", "2009Q3",
         "--inbox", str(inbox), "--review-to", str(review)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "intet nyt" in proc.stdout
    assert "HEAVY=\n" in proc.stdout, proc.stdout
    assert len(mail.messages) == 1


def _check_process(inbox: Path, review: Path, kill_at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvartal.cli", "check", "--quarter", "2009Q3",
         "--inbox", str(inbox), "--review-to", str(review)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([HOOK_DIR, str(REPO)]),
            "KVARTAL_FAULT_KILL_AT": kill_at,
        },
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kill_at", "a_mails"),
    [
        # Killed once the record of the first mail (Center A's) is written, before the
        # content is marked checked: the next pass sends nothing twice and misses nothing.
        ("write */kontrol/*/*-*.json", 1),
        # Killed after the mail server accepted Center A's mail, before its record landed:
        # the one window there is (a single storage write). Center A is mailed once more;
        # nothing is lost.
        ("temp */kontrol/*/*-*.json", 2),
    ],
)
def test_a_check_killed_mid_pass_sends_nothing_twice_outside_its_window(
    inbox: Path, tmp_path: Path, mail: Inbox, kill_at: str, a_mails: int
):
    review = tmp_path / "review"
    deliver(inbox, "Center A.csv")
    deliver(inbox, "center b.csv")
    killed = _check_process(inbox, review, kill_at)
    assert killed.returncode == -9, killed.stderr
    assert [to[0] for to, _ in mail.messages] == ["a@kommune.example"]

    again = _check_process(inbox, review, "")
    assert again.returncode == 0, again.stderr
    assert check(inbox, review) == 0  # and a third pass: nothing new
    tos = sorted(to[0] for to, _ in mail.messages)
    assert tos == ["a@kommune.example"] * a_mails + ["b1@kommune.example", "b2@kommune.example"]
