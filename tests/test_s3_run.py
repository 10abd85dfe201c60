"""`kvartal run` with inbox, review and publish locations on S3 (moto's server over HTTP),
recipients mailed through a loopback SMTP server: what an operator and a recipient see."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "flow" / "inbox"
WAIVER = (
    "Fil;Celle;Regel;Begrundelse;Godkendt af\r\n"
    "2009Q3/centre.csv;D3;ikke_tal;Tastefejl bekræftet af centret;Operatør Olsen\r\n"
)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvartal.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_run_from_s3_to_s3_mails_each_recipient_once(s3_env, prefect_api, smtp):
    inbox_mail, smtp_settings = smtp
    bucket, prefix = s3_env.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3")
    for path in DATA.rglob("*"):
        if path.is_file():
            s3.put_object(
                Bucket=bucket,
                Key=f"{prefix}/inbox/{path.relative_to(DATA).as_posix()}",
                Body=path.read_bytes(),
            )
    s3.put_object(
        Bucket=bucket, Key=f"{prefix}/inbox/2009Q3/afvigelser.csv", Body=WAIVER.encode("cp1252")
    )

    env = dict(
        os.environ,
        PREFECT_API_URL=prefect_api,
        KVARTAL_SMTP_HOST="127.0.0.1",
        KVARTAL_SMTP_PORT=str(smtp_settings.port),
        KVARTAL_SMTP_FROM="kvartal@kommune.example",
        KVARTAL_RECIPIENTS="Beskæftigelsesaftale 2009=udvalg@kommune.example;"
        "*=direktion@kommune.example",
        KVARTAL_LINK_EXPIRY="86400",
    )
    args = [
        "run",
        "--quarter",
        "2009Q3",
        "--inbox",
        f"{s3_env}/inbox",
        "--publish-to",
        f"{s3_env}/published",
        "--review-to",
        f"{s3_env}/review",
    ]
    first = _run(env, *args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"{s3_env}/published/2009Q3/report.html" in first.stdout

    def key(name: str) -> str:
        return f"{prefix}/published/{name}"

    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=key("2009Q3/manifest.json"))["Body"].read()
    )
    assert manifest["version"] == 1
    for entry in manifest["files"]:
        body = s3.get_object(Bucket=bucket, Key=key(f"2009Q3/{entry['name']}"))["Body"].read()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
        assert len(body) == entry["size"]
    assert s3.head_object(Bucket=bucket, Key=key("2009Q3/report.html"))["ContentType"].startswith(
        "text/html"
    )
    assert (
        s3.head_object(Bucket=bucket, Key=key("2009Q3/report.pdf"))["ContentType"]
        == "application/pdf"
    )
    assert s3.head_object(Bucket=bucket, Key=key("index.html"))
    published = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key(""))["Contents"]]
    assert not [k for k in published if "validation" in k]
    assert s3.head_object(Bucket=bucket, Key=f"{prefix}/review/2009Q3/validation.json")

    # one mail to each of the two recipients, with links a recipient can open
    assert sorted(r for rcpts, _ in inbox_mail.messages for r in rcpts) == [
        "direktion@kommune.example",
        "udvalg@kommune.example",
    ]
    _, message = inbox_mail.messages[0]
    assert message["Subject"] == "Status 3. kvartal 2009, version 1"
    body = message.get_content()
    links = re.findall(r"https?://\S+", body)
    pdf_link = next(link for link in links if "report.pdf" in link)
    assert "X-Amz-Expires=86400" in pdf_link
    with urllib.request.urlopen(pdf_link, timeout=10) as response:
        assert response.read()[:5] == b"%PDF-"

    # the same inputs again: nothing new is published and nobody is mailed again
    again = _run(env, *args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "allerede udgivet" in again.stdout
    assert len(inbox_mail.messages) == 2
    versions = {
        k.split("/")[4]
        for k in (
            o["Key"]
            for o in s3.list_objects_v2(Bucket=bucket, Prefix=key("2009Q3/versions/"))["Contents"]
        )
    }
    assert versions == {"1"}
