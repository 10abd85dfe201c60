"""Validation reports are for operators: a review location inside the recipients' one is
refused before anything runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kvartal.storage import check_locations


@pytest.mark.parametrize(
    ("publish", "review"),
    [
        ("out/published", "out/published/review"),
        ("out/published", "out/published"),
        ("out/published/", "./out/published/gennemsyn"),
        ("s3://rapporter/status", "s3://rapporter/status/review"),
        ("s3://rapporter/status/", "s3://rapporter/status"),
    ],
)
def test_review_inside_publish_is_refused(publish, review):
    with pytest.raises(ValueError, match="må aldrig nå modtagerne"):
        check_locations(publish, review)


@pytest.mark.parametrize(
    ("publish", "review"),
    [
        ("out/published", "out/review"),
        ("out/published", "out/published-review"),
        ("s3://rapporter/status", "s3://drift/status"),
        ("s3://rapporter/status", "s3://rapporter/status-gennemsyn"),
    ],
)
def test_separate_locations_are_accepted(publish, review):
    check_locations(publish, review)


def test_run_refuses_at_once_with_exit_1(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "run",
            "--quarter",
            "2009Q3",
            "--publish-to",
            str(tmp_path / "pub"),
            "--review-to",
            str(tmp_path / "pub" / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "--review-to" in done.stderr
    assert not (tmp_path / "pub").exists()
