"""A real S3 endpoint for the tests: moto's standalone server in its own process.

Nothing in boto3 is patched: the code under test (and any `kvartal` subprocess) speaks
HTTP to 127.0.0.1 exactly as it would speak to MinIO, configured only by `AWS_*` variables.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "eu-north-1"
STARTUP_SECONDS = 60


@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT

    def client(self) -> Any:
        """A client for arranging and inspecting state, independent of the code under test."""
        import boto3

        return boto3.session.Session(
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        ).client("s3", endpoint_url=self.endpoint)

    def make_bucket(self, name: str | None = None) -> str:
        bucket = name or f"kvartal-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return bucket


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is serving
    except OSError:
        return False


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with tempfile.TemporaryFile(prefix="moto-server-") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _answers(endpoint):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode("utf-8", "replace")[-4000:]
                    raise RuntimeError(f"moto server did not start on {endpoint}:\n{output}")
                time.sleep(0.1)
            yield S3Server(endpoint)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def s3_env(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`s3://<fresh bucket>/kvartal`, reachable through the environment alone.

    Subprocesses inherit it. Shared AWS config files and profiles are kept out, so a
    developer's own AWS set-up cannot send test traffic anywhere but 127.0.0.1.
    """
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    nowhere = tmp_path_factory.mktemp("no-aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bucket = s3_server.make_bucket()
    yield f"s3://{bucket}/kvartal"


# s3rver: a second S3 implementation, one that ignores `If-None-Match: *` -----------------

NODE_DIR = Path(__file__).resolve().parent / "node"
S3RVER = NODE_DIR / "node_modules" / ".bin" / "s3rver"
S3RVER_KEY = "S3RVER"  # s3rver's fixed credentials


@pytest.fixture(scope="session")
def s3rver_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """s3rver (npm, pinned in tests/support/node) on loopback; `.ci/run` installs it."""
    if not S3RVER.exists():
        raise RuntimeError(f"s3rver is not installed: run `npm ci` in {NODE_DIR}")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    data = tmp_path_factory.mktemp("s3rver")
    with tempfile.TemporaryFile(prefix="s3rver-") as log:
        proc = subprocess.Popen(
            [
                str(S3RVER),
                "-d",
                str(data),
                "-a",
                "127.0.0.1",
                "-p",
                str(port),
                "-s",
                "--configure-bucket",
                "kvartal",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _answers(endpoint):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode("utf-8", "replace")[-4000:]
                    raise RuntimeError(f"s3rver did not start on {endpoint}:\n{output}")
                time.sleep(0.1)
            yield endpoint
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def s3rver_env(
    s3rver_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """`s3://kvartal/<fresh prefix>` on s3rver, through the environment alone."""
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    nowhere = tmp_path_factory.mktemp("no-aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3RVER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3RVER_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3rver_endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return f"s3://kvartal/{uuid.uuid4().hex[:12]}"
