"""Create-only writes are what tell two publishers apart, so a server that ignores
`If-None-Match: *` is detected before anything is published, and refused with a message
that says so. Tried against moto (honours it) and s3rver (ignores it)."""

from __future__ import annotations

import pytest

from kvartal.publish import publish
from kvartal.storage import (
    ConditionalWritesUnsupported,
    LocalStorage,
    open_storage,
    require_conditional_writes,
)
from tests.support import publish_child

pytestmark = pytest.mark.slow


def test_moto_honours_create_only_and_the_probe_leaves_nothing(s3_env: str) -> None:
    storage = open_storage(s3_env)
    require_conditional_writes(storage)
    require_conditional_writes(storage)  # known now: no second probe needed
    assert storage.list() == []


def test_a_local_folder_is_never_probed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    storage = LocalStorage(tmp_path)
    require_conditional_writes(storage)
    assert storage.list() == [] and list(tmp_path.iterdir()) == []


def test_s3rver_overwrites_a_create_only_write(s3rver_env: str) -> None:
    """The premise: s3rver answers 200 to a conditional PUT over an existing key."""
    storage = open_storage(s3rver_env)
    storage.write("x.txt", b"first", create_only=True)
    storage.write("x.txt", b"second", create_only=True)  # no AlreadyExists
    assert storage.read("x.txt") == b"second"


def test_publishing_to_s3rver_is_refused_before_anything_is_written(s3rver_env: str) -> None:
    storage = open_storage(s3rver_env)
    with pytest.raises(ConditionalWritesUnsupported) as err:
        publish(
            storage,
            "2009Q3",
            fingerprint="fp",
            render=publish_child.render_for("a"),
            manifest_extra={},
            index_renderer=publish_child.index,
        )
    message = str(err.value)
    assert "overskriver objekter, selv når en skrivning kun må oprette" in message
    assert "If-None-Match: *" in message and s3rver_env in message
    assert storage.list() == []


def test_kvartal_run_to_s3rver_exits_1_with_the_reason_and_no_retries(
    s3rver_env: str, prefect_api: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    data = Path(__file__).parent / "data" / "flow" / "inbox"
    inbox = tmp_path / "inbox"
    shutil.copytree(data, inbox)
    figures = inbox / "2009Q3" / "centre.csv"
    figures.write_text(
        figures.read_text(encoding="utf-8").replace(";1.5;", ";2;"), encoding="utf-8"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "run",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(inbox),
            "--publish-to",
            s3rver_env,
            "--review-to",
            str(tmp_path / "review"),
        ],
        env={**os.environ, "PREFECT_API_URL": prefect_api},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "overskriver objekter, selv når en skrivning kun må oprette" in done.stderr
    assert "Retry 1/" not in done.stderr
    assert open_storage(s3rver_env).list() == []
