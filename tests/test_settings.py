"""Settings are checked when the command starts, in Danish, naming the variable; links an
operator gets are never `file://`; the run's artifact reads waived errors as waived."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kvartal.config import SettingsError, settings


def test_defaults_are_the_documented_ones(monkeypatch):
    for name in ("KVARTAL_AT_RISK", "KVARTAL_APPROVAL_TIMEOUT", "KVARTAL_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    cfg = settings()
    assert (cfg.at_risk, cfg.approval_timeout, cfg.timezone) == (0.9, 259200, "Europe/Copenhagen")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KVARTAL_AT_RISK", "høj", "KVARTAL_AT_RISK='høj' skal være et tal"),
        ("KVARTAL_AT_RISK", "1,5", "KVARTAL_AT_RISK='1.5' må højst være 1"),
        (
            "KVARTAL_APPROVAL_TIMEOUT",
            "3 dage",
            "KVARTAL_APPROVAL_TIMEOUT='3 dage' skal være et helt tal",
        ),
        ("KVARTAL_LINK_EXPIRY", "1209600", "KVARTAL_LINK_EXPIRY='1209600' må højst være 604800"),
        (
            "KVARTAL_TIMEZONE",
            "Europe/Koebenhavn",
            "KVARTAL_TIMEZONE: 'Europe/Koebenhavn' er ikke en kendt tidszone",
        ),
        (
            "KVARTAL_SCHEDULE_CRON",
            "hver 10. januar",
            "KVARTAL_SCHEDULE_CRON: 'hver 10. januar' er ikke et gyldigt cron-udtryk",
        ),
        (
            "KVARTAL_OPERATOR_EMAILS",
            "drift@kommune.dk, ole",
            "KVARTAL_OPERATOR_EMAILS: 'ole' er ikke en mailadresse",
        ),
        (
            "KVARTAL_REVIEW_URL",
            "drift.kommune.dk/kvartal",
            "KVARTAL_REVIEW_URL: 'drift.kommune.dk/kvartal' er ikke en http(s)-adresse",
        ),
        ("KVARTAL_SMTP_STARTTLS", "måske", "KVARTAL_SMTP_STARTTLS='måske' skal være 1 eller 0"),
        (
            "KVARTAL_S3_CHECKSUMS",
            "always",
            "KVARTAL_S3_CHECKSUMS: skal være en af when_required, when_supported, ikke 'always'",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        settings()
    assert message in str(caught.value)


def test_a_danish_decimal_comma_is_a_decimal(monkeypatch):
    monkeypatch.setenv("KVARTAL_AT_RISK", "0,85")
    assert settings().at_risk == 0.85


def test_the_command_checks_every_setting_before_it_starts(tmp_path):
    import os

    env = dict(os.environ, KVARTAL_MAX_CELLS="mange")
    done = subprocess.run(
        [sys.executable, "-m", "kvartal.cli", "validate", "--review-to", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "KVARTAL_MAX_CELLS='mange' skal være et helt tal" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was validated or written


def test_review_links_use_the_configured_base_url(monkeypatch, tmp_path):
    from kvartal.config import settings
    from kvartal.links import ReviewLinks
    from kvartal.review import link_to
    from kvartal.storage import open_storage

    monkeypatch.delenv("KVARTAL_REVIEW_URL", raising=False)
    links = ReviewLinks.of(settings())
    assert link_to(open_storage(str(tmp_path)), "2009Q3/validation.html", links) == str(
        tmp_path / "2009Q3" / "validation.html"
    )  # a path to open by hand, not file://
    monkeypatch.setenv("KVARTAL_REVIEW_URL", "https://drift.kommune.dk/kvartal/")
    links = ReviewLinks.of(settings())
    assert link_to(open_storage(str(tmp_path)), "2009Q3/validation.html", links) == (
        "https://drift.kommune.dk/kvartal/2009Q3/validation.html"
    )
    # a run that names its own base (a register's inbox) links there, whatever the default
    links = ReviewLinks.of(settings(), "https://drift.kommune.dk/vejen")
    assert link_to(open_storage(str(tmp_path)), "2009Q3/validation.html", links) == (
        "https://drift.kommune.dk/vejen/2009Q3/validation.html"
    )


def test_the_artifact_shows_whole_messages_and_waived_errors_as_waived():
    from kvartal.gather import Inputs
    from kvartal.model import Problem, Waiver
    from kvartal.pipeline import review_markdown
    from kvartal.quarters import Quarter
    from kvartal.validation import ValidationResult

    long = "Værdien 1.5 er tvetydig: " + "skriv 1,5 eller 1.500 | " * 8 + "slut."
    waived = Problem(
        file="2009Q3/centre.csv",
        sheet=None,
        cell="D3",
        column="Værdi",
        row=3,
        rule="ikke_tal",
        severity="fejl",
        value="1.5",
        message=long,
    )
    other = Problem(
        file="2009Q3/centre.csv",
        sheet=None,
        cell="D4",
        column="Værdi",
        row=4,
        rule="ikke_tal",
        severity="fejl",
        value="x",
        message="Ikke et tal.",
    )
    result = ValidationResult(
        problems=[waived, other],
        waived=[
            (
                waived,
                Waiver(
                    file="2009Q3/centre.csv",
                    cell="D3",
                    rule="ikke_tal",
                    reason="tastefejl",
                    approved_by="Olsen",
                ),
            )
        ],
    )
    text = review_markdown(result, Inputs(quarter=Quarter(2009, 3)), "/srv/gennemsyn")
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert items[0].startswith("- **D3** · ikke_tal · godkendt afvigelse · værdi `1.5`: ")
    assert items[1] == "- **D4** · ikke_tal · fejl · værdi `x`: Ikke et tal."
    assert items[0].endswith(long)  # whole, as one line a narrow screen wraps
    assert "## 2009Q3/centre.csv" in text.splitlines()
    assert "1 fejl, 0 advarsler, 1 godkendt afvigelse." in text
