"""S3 that fails in the middle of a publication, through a fault proxy in front of moto:
an outage after any number of requests, answers lost after the server acted, and 500s.
Whatever happened, the location is consistent, and the next attempt publishes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from kvartal.publish import latest_version
from kvartal.storage.s3 import S3Storage, client_config
from tests.support import publish_child
from tests.support.consistency import violations
from tests.support.faultproxy import FaultProxy, fault_proxy
from tests.support.s3server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

pytestmark = pytest.mark.slow

Q = "2009Q3"


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    with fault_proxy(s3_server.endpoint) as p:
        yield p


def _storage(endpoint: str, bucket: str, prefix: str) -> S3Storage:
    client = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    ).client("s3", endpoint_url=endpoint, config=client_config())
    return S3Storage(bucket, prefix, client=client)


def _publish(storage: S3Storage, fp: str, tag: str) -> tuple[int, bool]:
    from kvartal.publish import publish

    result = publish(
        storage,
        Q,
        fingerprint=fp,
        render=publish_child.render_for(tag),
        manifest_extra={"tag": tag},
        index_renderer=publish_child.index,
    )
    return result.version, result.created


def test_an_outage_after_any_request_is_finished_by_the_next_attempt(
    s3_server: S3Server, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVARTAL_S3_MAX_ATTEMPTS", "1")  # an outage, not a hiccup
    bucket = s3_server.make_bucket()
    # how many requests a whole version-2 publication makes
    counting = _storage(proxy.endpoint, bucket, "counted")
    _publish(_storage(s3_server.endpoint, bucket, "counted"), "fp-1", "a")
    proxy.down_after(None)
    _publish(counting, "fp-2", "b")
    total = proxy.requests
    assert total > 15

    for n in range(total):
        prefix = f"down-after-{n}"
        direct = _storage(s3_server.endpoint, bucket, prefix)
        _publish(direct, "fp-1", "a")
        proxy.down_after(n)
        with pytest.raises(Exception):  # noqa: B017 - whatever botocore raises for it
            _publish(_storage(proxy.endpoint, bucket, prefix), "fp-2", "b")
        proxy.down_after(None)
        assert violations(direct, Q) == [], f"outage after {n} requests"
        assert _publish(direct, "fp-2", "b")[0] == 2
        latest = latest_version(direct, Q)
        assert latest is not None and latest[1]["tag"] == "b"
        assert direct.read(f"{Q}/manifest.json") == direct.read(f"{Q}/versions/2/manifest.json")
        assert violations(direct, Q) == []
        assert [v for v, _ in json.loads(direct.read("index.html"))[0][1]] == [2, 1]


@pytest.mark.parametrize("fault", ["lose", "error"])
def test_lost_answers_and_server_errors_are_retried_to_one_version(
    s3_server: S3Server, proxy: FaultProxy, fault: str
) -> None:
    bucket = s3_server.make_bucket()
    through = _storage(proxy.endpoint, bucket, "flaky")
    direct = _storage(s3_server.endpoint, bucket, "flaky")
    if fault == "lose":
        proxy.lose_every(3)
    else:
        proxy.error_every(3)
    assert _publish(through, "fp-1", "a") == (1, True)
    assert _publish(through, "fp-2", "b") == (2, True)
    assert _publish(through, "fp-2", "b") == (2, False)
    assert proxy.faults > 10
    assert violations(direct, Q) == []
    assert direct.read(f"{Q}/manifest.json") == direct.read(f"{Q}/versions/2/manifest.json")
    assert sorted(k for k in direct.list() if "/versions/" in k and "manifest" in k) == [
        f"{Q}/versions/1/manifest.json",
        f"{Q}/versions/2/manifest.json",
    ]
