"""The S3 face of `Storage`: an `s3://bucket/prefix` behaves like a folder of keys.

Credentials, region and endpoint come from boto3's own configuration (the standard `AWS_*`
variables, `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, the shared config files), so an operator
points kvartal at AWS, MinIO or any S3-compatible server the way every AWS tool is pointed.
Nothing here passes an endpoint, region or credentials of its own; that would silently win
over the operator's settings.

boto3 is imported only in this module: local runs never pay for it.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from kvartal.storage.base import AlreadyExists, Capabilities

MAX_ATTEMPTS_ENV = "KVARTAL_S3_MAX_ATTEMPTS"
CHECKSUMS_ENV = "KVARTAL_S3_CHECKSUMS"
DEFAULT_MAX_ATTEMPTS = 5
# Many S3-compatible servers (older MinIO, Ceph, some appliances) reject the CRC checksums
# botocore sends by default since 1.36; "when_required" sends them only where S3 demands.
DEFAULT_CHECKSUMS = "when_required"
CHECKSUM_MODES = ("when_required", "when_supported")
# SigV4 presigned URLs cannot live longer than this.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
}
# A few conditional-write races answer 409 and ask the client to try again.
_CONFLICT_RETRIES = 3


def content_type_for(key: str) -> str:
    """Browsers opening a presigned link render or download by this header, not the name."""
    ext = posixpath.splitext(key)[1].lower()
    if ext in CONTENT_TYPES:
        return CONTENT_TYPES[ext]
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


def client_config() -> Config:
    """Retries and checksum behaviour from the environment; everything else left to boto3."""
    from kvartal.config import settings

    cfg = settings()  # checked there: a bad value names its variable
    attempts, checksums = cfg.s3_max_attempts, cfg.s3_checksums
    return Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        request_checksum_calculation=checksums,
        response_checksum_validation=checksums,
        # Presigned links must work in every region; SigV2 links only work in old ones.
        signature_version="s3v4",
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _is_missing(exc: ClientError) -> bool:
    return _error_code(exc) in ("NoSuchKey", "404", "NotFound") or _status(exc) == 404


class S3Storage(Capabilities):
    """Keys relative to `s3://bucket/prefix`, with the same meaning as `LocalStorage`'s."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any | None = None):
        if not bucket:
            raise ValueError("an S3 location needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.client = (
            client
            if client is not None
            else boto3.session.Session().client("s3", config=client_config())
        )

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise ValueError(f"{url!r} is not an s3:// URL")
        return cls(parts.netloc, parts.path)

    # keys --------------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        """Refuse keys that would mean something else on a local folder."""
        clean = key.strip("/")
        if not clean or any(part in ("", ".", "..") for part in clean.split("/")):
            raise ValueError(f"{key!r} is not a key under {self.url}")
        return f"{self.prefix}/{clean}" if self.prefix else clean

    def _relative(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    # the protocol ------------------------------------------------------------------------

    def list(self, prefix: str = "") -> list[str]:
        """Folder semantics, as locally: `2009Q3` lists `2009Q3/…`, never `2009Q30/…`."""
        rel = prefix.strip("/")
        if rel:
            full = self._key(rel)
            s3_prefix = full
        else:
            s3_prefix = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=s3_prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"]
                if name.endswith("/"):
                    continue  # a console's "folder" marker, not a file
                key = self._relative(name)
                if not rel or key == rel or key.startswith(rel + "/"):
                    keys.append(key)
        return sorted(keys)

    def read(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_missing(exc):
                raise FileNotFoundError(self.location(key)) from exc
            raise
        body = response["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        """One PUT is atomic on S3; `create_only` asks the server, never check-then-write.

        A 412 is what our own retried PUT meets when the first attempt landed but its answer
        was lost, so an object holding exactly our bytes counts as written.
        """
        full = self._key(key)
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": full,
            "Body": data,
            "ContentType": content_type or content_type_for(key),
        }
        if create_only:
            params["IfNoneMatch"] = "*"
        for attempt in range(_CONFLICT_RETRIES + 1):
            try:
                self.client.put_object(**params)
                return
            except ClientError as exc:
                code = _error_code(exc)
                if create_only and (code == "PreconditionFailed" or _status(exc) == 412):
                    if self._holds(key, data):
                        return
                    raise AlreadyExists(self.location(key)) from exc
                if code == "ConditionalRequestConflict" and attempt < _CONFLICT_RETRIES:
                    continue
                raise

    def delete(self, key: str) -> None:
        """S3 answers a delete of a missing key with success, as the protocol asks."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _holds(self, key: str, data: bytes) -> bool:
        try:
            stored = self.read(key)
        except FileNotFoundError:
            return False
        return hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    # beyond the protocol -----------------------------------------------------------------

    def presigned_url(self, key: str, expires_seconds: int = MAX_PRESIGN_SECONDS) -> str:
        """A link a recipient can open without credentials; SigV4 caps it at seven days."""
        seconds = max(1, min(int(expires_seconds), MAX_PRESIGN_SECONDS))
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=seconds
        )
        return url
