"""Collection on S3 (moto's server) gives what it gives on a folder.

S3 sets `LastModified` itself, so the folder copy is given the times S3 reports (read with
an independent client): then the lines and `indsamling.json` must be the same.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kvartal.cli import main
from tests.support.s3server import S3Server
from tests.support.smtp import Inbox

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent / "data" / "collection" / "inbox"


def _collection(inbox: str, review: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["collection", "--quarter", "2009Q3", "--inbox", inbox, "--review-to", str(review)])
    return code, capsys.readouterr().out


def test_collection_and_check_on_s3_as_on_a_folder(
    s3_server: S3Server,
    s3_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    smtp: tuple[Inbox, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = s3_server.client()
    bucket, prefix = s3_env.removeprefix("s3://").split("/", 1)
    files = sorted(p for p in DATA.rglob("*") if p.is_file())
    for p in files:
        client.put_object(Bucket=bucket, Key=f"{prefix}/{p.relative_to(DATA).as_posix()}",
                          Body=p.read_bytes())  # fmt: skip
    folder = tmp_path / "inbox"
    shutil.copytree(DATA, folder)
    for p in files:
        key = p.relative_to(DATA).as_posix()
        head = client.head_object(Bucket=bucket, Key=f"{prefix}/{key}")
        stamp = head["LastModified"].timestamp()
        os.utime(folder / key, (stamp, stamp))

    code_s3, out_s3 = _collection(s3_env, tmp_path / "review-s3", capsys)
    code_dir, out_dir = _collection(str(folder), tmp_path / "review-dir", capsys)
    assert (code_s3, out_s3) == (code_dir, out_dir)
    assert code_s3 == 2
    assert "Center D: mangler (1 mål uden tal)" in out_s3
    doc_s3 = json.loads((tmp_path / "review-s3" / "2009Q3" / "indsamling.json").read_text())
    doc_dir = json.loads((tmp_path / "review-dir" / "2009Q3" / "indsamling.json").read_text())
    assert doc_s3 == doc_dir
    assert doc_s3["summary"]["delivered"] == 3

    # The check on S3, with its ledger on S3 too: one mail per address, then nothing.
    box, cfg = smtp
    monkeypatch.setenv("KVARTAL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KVARTAL_SMTP_PORT", str(cfg.port))  # type: ignore[attr-defined]
    review = f"s3://{bucket}/gennemsyn"
    args = ["check", "--quarter", "2009Q3", "--inbox", s3_env, "--review-to", review]
    assert main(args) == 0
    assert len(box.messages) == 4
    assert main(args) == 0
    assert len(box.messages) == 4
    assert "intet nyt" in capsys.readouterr().out
