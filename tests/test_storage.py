"""Both faces of `Storage` keep the same promises, S3 over real HTTP to a moto server."""

from __future__ import annotations

import errno
import os
import stat
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from kvartal.storage import AlreadyExists, LocalStorage, Storage, open_storage
from kvartal.storage.s3 import MAX_PRESIGN_SECONDS, S3Storage
from tests.support.s3server import S3Server


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "root")
    else:
        yield open_storage(request.getfixturevalue("s3_env"))


@pytest.fixture
def s3(s3_env: str) -> S3Storage:
    st = open_storage(s3_env)
    assert isinstance(st, S3Storage)
    return st


# both faces --------------------------------------------------------------------------------


def test_round_trip(storage: Storage) -> None:
    storage.write("2009Q3/report.html", "<p>Målet er nået, 3. kvartal</p>".encode())
    storage.write("2009Q3/versions/1/report.html", b"v1")
    storage.write("targets/m\u00e5l.xlsx", b"PK\x03\x04")
    storage.write("index.html", b"index")

    assert storage.read("2009Q3/report.html") == "<p>Målet er nået, 3. kvartal</p>".encode()
    assert storage.exists("2009Q3/report.html")
    assert not storage.exists("2009Q3/report.pdf")
    assert storage.list() == [
        "2009Q3/report.html",
        "2009Q3/versions/1/report.html",
        "index.html",
        "targets/m\u00e5l.xlsx",
    ]
    assert storage.list("2009Q3") == ["2009Q3/report.html", "2009Q3/versions/1/report.html"]
    assert storage.list("2009Q3/") == storage.list("2009Q3")
    assert storage.list("2009Q3/versions") == ["2009Q3/versions/1/report.html"]
    assert storage.list("2010Q1") == []
    assert storage.read("targets/m\u00e5l.xlsx") == b"PK\x03\x04"


def test_list_is_by_folder_not_by_string_prefix(storage: Storage) -> None:
    storage.write("2009Q3/a.csv", b"a")
    storage.write("2009Q30/b.csv", b"b")
    storage.write("2009Q3.csv", b"c")
    assert storage.list("2009Q3") == ["2009Q3/a.csv"]
    assert storage.list("2009Q3.csv") == ["2009Q3.csv"]


def test_overwrite_replaces_bytes(storage: Storage) -> None:
    storage.write("2009Q3/report.html", b"old")
    storage.write("2009Q3/report.html", b"new")
    assert storage.read("2009Q3/report.html") == b"new"
    assert storage.list() == ["2009Q3/report.html"]


def test_missing_key_is_file_not_found(storage: Storage) -> None:
    with pytest.raises(FileNotFoundError):
        storage.read("2009Q3/nothing.json")


def test_create_only(storage: Storage) -> None:
    storage.write("2009Q3/versions/1/report.html", b"first", create_only=True)
    # the same bytes again: what a retried write of our own meets
    storage.write("2009Q3/versions/1/report.html", b"first", create_only=True)
    with pytest.raises(AlreadyExists):
        storage.write("2009Q3/versions/1/report.html", b"other", create_only=True)
    assert storage.read("2009Q3/versions/1/report.html") == b"first"
    assert storage.list() == ["2009Q3/versions/1/report.html"]


def test_keys_outside_the_root_are_refused(storage: Storage) -> None:
    with pytest.raises(ValueError):
        storage.write("../escape.html", b"x")
    with pytest.raises(ValueError):
        storage.read("2009Q3/../../escape.html")


def test_location_names_the_place(storage: Storage) -> None:
    where = storage.location("2009Q3/report.html")
    if isinstance(storage, S3Storage):
        assert where == f"s3://{storage.bucket}/kvartal/2009Q3/report.html"
    else:
        assert isinstance(storage, LocalStorage)
        assert where == str(storage.root / "2009Q3" / "report.html")


# local only --------------------------------------------------------------------------------


def test_local_write_leaves_no_temporary_and_is_readable_by_others(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path)
    st.write("2009Q3/report.html", b"x")
    st.write("2009Q3/report.pdf", b"y", create_only=True)
    assert sorted(p.name for p in (tmp_path / "2009Q3").iterdir()) == ["report.html", "report.pdf"]
    mask = os.umask(0o022)
    os.umask(mask)
    mode = stat.S_IMODE((tmp_path / "2009Q3" / "report.html").stat().st_mode)
    assert mode == 0o666 & ~mask


def test_local_failed_write_keeps_old_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = LocalStorage(tmp_path)
    st.write("index.html", b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        st.write("index.html", b"new")
    assert st.read("index.html") == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_local_readers_never_see_a_partial_write(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path)
    old, new = b"a" * 2_000_000, b"b" * 2_000_000
    st.write("report.pdf", old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def read_loop() -> None:
        while not stop.is_set():
            data = st.read("report.pdf")
            seen.add(data[:1] + data[-1:] + str(len(data)).encode())
            assert data in (old, new)

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        for i in range(30):
            st.write("report.pdf", new if i % 2 == 0 else old)
    finally:
        stop.set()
        reader.join()
    assert seen <= {b"aa2000000", b"bb2000000"}


def test_local_list_hides_unfinished_writes(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path)
    st.write("2009Q3/report.html", b"x")
    (tmp_path / "2009Q3" / ".tmp-abc.html").write_bytes(b"half")
    assert st.list() == ["2009Q3/report.html"]


def test_local_list_leaves_out_a_folder_removed_while_it_walks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another publisher removes its spent folder (here `versions/2/`) just as this process
    lists the root to write the index: the listing goes on without it. It used to stop the
    publishing run with FileNotFoundError after its version was published."""
    import shutil

    storage = LocalStorage(str(tmp_path))
    storage.write("2009Q3/manifest.json", b"{}")
    storage.write("2009Q3/versions/1/report.html", b"v1")
    storage.write("2009Q3/versions/2/report.html", b"v2")
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if isinstance(path, str | Path) and Path(path).name == "2" and Path(path).exists():
            shutil.rmtree(path)  # gone between being listed and being opened
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert storage.list() == ["2009Q3/manifest.json", "2009Q3/versions/1/report.html"]
    assert storage.list("2009Q3/versions") == ["2009Q3/versions/1/report.html"]


def test_open_storage_chooses_by_url(tmp_path: Path) -> None:
    assert isinstance(open_storage(str(tmp_path)), LocalStorage)
    assert isinstance(open_storage(f"file://{tmp_path}"), LocalStorage)


# S3 only -----------------------------------------------------------------------------------


def test_s3_url_and_endpoint_come_from_the_environment(
    s3: S3Storage, s3_env: str, s3_server: S3Server
) -> None:
    assert s3.url == s3_env
    assert s3.prefix == "kvartal"
    assert s3.client.meta.endpoint_url == s3_server.endpoint
    assert s3.client.meta.region_name == "eu-north-1"
    whole_bucket = S3Storage.from_url(f"s3://{s3.bucket}")
    whole_bucket.write("top.json", b"{}")
    assert whole_bucket.list() == ["top.json"]
    assert whole_bucket.location("top.json") == f"s3://{s3.bucket}/top.json"
    assert s3.list() == []


def test_s3_config_from_kvartal_variables(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    st = S3Storage.from_url(s3_env)
    config = st.client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"

    monkeypatch.setenv("KVARTAL_S3_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("KVARTAL_S3_CHECKSUMS", "when_supported")
    st = S3Storage.from_url(s3_env)
    config = st.client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert config.request_checksum_calculation == "when_supported"
    assert config.response_checksum_validation == "when_supported"
    st.write("with-crc.json", b"{}")  # moto accepts botocore's default checksums
    assert st.read("with-crc.json") == b"{}"

    monkeypatch.setenv("KVARTAL_S3_CHECKSUMS", "always")
    with pytest.raises(ValueError, match="KVARTAL_S3_CHECKSUMS"):
        S3Storage.from_url(s3_env)
    monkeypatch.setenv("KVARTAL_S3_CHECKSUMS", "when_required")
    monkeypatch.setenv("KVARTAL_S3_MAX_ATTEMPTS", "five")
    with pytest.raises(ValueError, match="KVARTAL_S3_MAX_ATTEMPTS"):
        S3Storage.from_url(s3_env)


def test_moto_honours_if_none_match(s3: S3Storage) -> None:
    """The server, not our code, refuses the second create: the guarantee is the server's."""
    raw = s3.client
    raw.put_object(Bucket=s3.bucket, Key="probe", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as caught:
        raw.put_object(Bucket=s3.bucket, Key="probe", Body=b"2", IfNoneMatch="*")
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert raw.get_object(Bucket=s3.bucket, Key="probe")["Body"].read() == b"1"


def _record_puts(st: S3Storage) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def before_send(request: Any, **_: Any) -> None:
        if request.method == "PUT":
            sent.append(
                {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
            )

    st.client.meta.events.register("before-send.s3.PutObject", before_send)
    return sent


def test_s3_retry_of_our_own_landed_write_is_success(s3: S3Storage) -> None:
    """The first PUT lands, its answer is 'lost': botocore retries, meets 412, bytes match."""
    sent = _record_puts(s3)
    statuses: list[int] = []
    lost = {"done": False}

    def lose_first_answer(response: Any = None, **_: Any) -> int | None:
        if response is not None:
            statuses.append(response[0].status_code)
        if not lost["done"] and response is not None and response[0].status_code == 200:
            lost["done"] = True
            return 0  # retry now, as after a dropped connection
        return None

    s3.client.meta.events.register_first("needs-retry.s3.PutObject", lose_first_answer)
    s3.write("2009Q3/versions/1/report.pdf", b"%PDF-1.7", create_only=True)
    assert statuses == [200, 412]
    assert all(h.get("If-None-Match") == "*" for h in sent) and len(sent) == 2
    assert s3.read("2009Q3/versions/1/report.pdf") == b"%PDF-1.7"


def test_s3_412_with_other_bytes_is_already_exists(s3: S3Storage) -> None:
    s3.write("2009Q3/versions/1/report.pdf", b"ours", create_only=True)
    sent = _record_puts(s3)
    with pytest.raises(AlreadyExists):
        s3.write("2009Q3/versions/1/report.pdf", b"theirs", create_only=True)
    assert len(sent) == 1 and sent[0]["If-None-Match"] == "*"
    assert s3.read("2009Q3/versions/1/report.pdf") == b"ours"


def test_s3_plain_write_sends_no_condition(s3: S3Storage) -> None:
    sent = _record_puts(s3)
    s3.write("index.html", b"1")
    s3.write("index.html", b"2")
    assert [h.get("If-None-Match") for h in sent] == [None, None]
    assert s3.read("index.html") == b"2"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.html", "text/html; charset=utf-8"),
        ("report.pdf", "application/pdf"),
        ("report.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("fulfilment.json", "application/json"),
        ("validation.csv", "text/csv; charset=utf-8"),
        ("blob.unknownext", "application/octet-stream"),
    ],
)
def test_s3_content_type_by_extension(s3: S3Storage, name: str, expected: str) -> None:
    s3.write(f"2009Q3/{name}", b"x")
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"kvartal/2009Q3/{name}")
    assert head["ContentType"] == expected


def test_s3_content_type_given_wins(s3: S3Storage) -> None:
    s3.write("2009Q3/notes.txt", b"x", content_type="text/plain; charset=utf-8")
    s3.write("2009Q3/created.html", b"x", content_type="text/html", create_only=True)
    head = s3.client.head_object(Bucket=s3.bucket, Key="kvartal/2009Q3/notes.txt")
    assert head["ContentType"] == "text/plain; charset=utf-8"
    head = s3.client.head_object(Bucket=s3.bucket, Key="kvartal/2009Q3/created.html")
    assert head["ContentType"] == "text/html"


def test_s3_list_follows_pages(s3: S3Storage) -> None:
    pages: list[int] = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["MaxKeys"] = 2

    def count(parsed: dict[str, Any], **_: Any) -> None:
        pages.append(len(parsed.get("Contents", [])))

    keys = [f"2009Q3/file{i}.csv" for i in range(7)]
    for key in keys:
        s3.write(key, b"x")
    s3.client.meta.events.register("before-parameter-build.s3.ListObjectsV2", small_pages)
    s3.client.meta.events.register("after-call.s3.ListObjectsV2", count)
    assert s3.list("2009Q3") == keys
    assert pages == [2, 2, 2, 1]


def test_s3_list_skips_folder_markers(s3: S3Storage) -> None:
    s3.client.put_object(Bucket=s3.bucket, Key="kvartal/2009Q3/", Body=b"")
    s3.write("2009Q3/a.csv", b"a")
    assert s3.list() == ["2009Q3/a.csv"]


def test_s3_presigned_url_serves_the_object(s3: S3Storage) -> None:
    s3.write("2009Q3/report.html", "<p>Bilag 1, beskæftigelse</p>".encode())
    url = s3.presigned_url("2009Q3/report.html", 600)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == "<p>Bilag 1, beskæftigelse</p>".encode()
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["600"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    capped = parse_qs(urlsplit(s3.presigned_url("2009Q3/report.html", 10**8)).query)
    assert capped["X-Amz-Expires"] == [str(MAX_PRESIGN_SECONDS)] == ["604800"]


def test_local_prune_removes_empty_folders_only(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path)
    (tmp_path / ".kvartal" / "staging" / "2009Q3" / "v2" / "1-ab").mkdir(parents=True)
    st.write(".kvartal/claims/2009Q3/v3/1.json", b"{}")
    st.prune(".kvartal")
    assert not (tmp_path / ".kvartal" / "staging").exists()  # a killed writer's empty folder
    assert st.list() == [".kvartal/claims/2009Q3/v3/1.json"]
    st.delete(".kvartal/claims/2009Q3/v3/1.json")
    st.prune(".kvartal")
    assert list(tmp_path.iterdir()) == []


def test_a_full_local_disk_names_the_place(tmp_path: Path) -> None:
    class FullDisk(LocalStorage):
        def _write(self, path: Path, key: str, data: bytes, create_only: bool) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as the system says it

    st = FullDisk(tmp_path)
    with pytest.raises(OSError) as full:
        st.write("2009Q3/report.pdf", b"%PDF")
    assert full.value.errno == errno.ENOSPC
    assert str(full.value).startswith(
        f"[Errno 28] Disken er fuld ved {tmp_path.resolve()}/2009Q3/report.pdf: "
    )


def test_a_location_is_opened_by_its_scheme(tmp_path: Path) -> None:
    from kvartal.storage import backend_for, shared_services

    assert isinstance(open_storage(f"file://{tmp_path}/a"), LocalStorage)
    assert open_storage(f"file://{tmp_path}/a").url == str(tmp_path / "a")
    assert open_storage(str(tmp_path / "b")).url == str(tmp_path / "b")
    assert backend_for("s3://bucket/prefix").scheme == "s3"
    assert backend_for("ftp://host/x").scheme == "file"  # unknown schemes stay a folder
    # run-all limits S3 per endpoint; folders share nothing
    urls = ["s3://a/x", str(tmp_path), "s3://b/y"]
    assert shared_services(urls, "") == [("s3", "aws")]
    assert shared_services(urls, "http://127.0.0.1:9000") == [("s3", "http://127.0.0.1:9000")]
    assert shared_services([str(tmp_path)], "http://127.0.0.1:9000") == []


def test_the_faces_declare_their_capabilities(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    assert local.honours_create_only is True
    assert local.presigned_url("x.html", 60) is None  # a folder has no links to sign
    s3 = S3Storage("bucket", "prefix", client=object())
    assert s3.honours_create_only is False  # probed once per location before publishing


def test_the_fault_wrapper_notes_each_boundary_after_it_is_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The boundaries the fault tests kill at, as the harness's wrapper sees them."""
    from tests.support.faults import FaultStorage

    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("KVARTAL_FAULT_TRACE", str(trace))
    root = tmp_path / "root"
    wrapped = FaultStorage(LocalStorage(root))
    wrapped.write("a/b.json", b"{}", create_only=True)
    assert (root / "a" / "b.json").read_bytes() == b"{}"  # written when it is noted
    wrapped.delete("a/b.json")
    assert trace.read_text().splitlines() == [
        f"write {root / 'a' / 'b.json'}",
        f"delete {root / 'a' / 'b.json'}",
    ]
    assert wrapped.honours_create_only and wrapped.root == LocalStorage(root).root
