"""One small interface over a local folder or an S3 prefix, for raw files, staging, exports and reports.

Roots are strings: a local path (``/data/raw``) or an S3 URI (``s3://bucket/prefix``). S3 goes
through boto3 with the standard AWS settings (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` for S3-compatible servers
such as MinIO or moto), or, when ``AWS_CONN_ID`` names an Airflow connection and Airflow is
importable, that connection's credentials and endpoint.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

S3_SCHEME = "s3://"


def is_s3(uri: str) -> bool:
    return uri.startswith(S3_SCHEME)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> (``bucket``, ``a/b``)."""
    rest = uri[len(S3_SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"not an S3 URI with a bucket: {uri!r}")
    return bucket, key.strip("/")


def join(root: str, *parts: str) -> str:
    """Join path parts onto a local or S3 root."""
    if is_s3(root):
        out = root.rstrip("/")
        for part in parts:
            out += "/" + part.strip("/")
        return out
    return str(Path(root, *parts))


@dataclass(frozen=True)
class StoredFile:
    uri: str
    name: str  # path relative to the listed root, with '/' separators
    size: int


def _client_kwargs_from_airflow(conn_id: str, region: str | None) -> dict[str, Any]:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=conn_id)
    creds = hook.get_credentials()
    extra = hook.conn_config
    kwargs: dict[str, Any] = {
        "aws_access_key_id": creds.access_key,
        "aws_secret_access_key": creds.secret_key,
        "aws_session_token": creds.token,
        "region_name": extra.region_name or region,
    }
    if extra.endpoint_url:
        kwargs["endpoint_url"] = extra.endpoint_url
    return kwargs


S3_CREDENTIALS_FIX = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL_S3 for MinIO "
    "or another S3-compatible server), or AWS_CONN_ID to an Airflow connection"
)


def explain_s3_failure(exc: BaseException) -> str | None:
    """A one-line reason and fix for an S3 failure (credentials, endpoint, bucket), else None."""
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None:  # boto3 was never used: not an S3 failure
        return None
    if isinstance(exc, botocore.NoCredentialsError | botocore.PartialCredentialsError):
        return f"no S3 credentials ({' '.join(str(exc).split())}): {S3_CREDENTIALS_FIX}"
    if isinstance(exc, botocore.EndpointConnectionError):
        return (
            f"cannot reach the S3 endpoint {getattr(exc, 'kwargs', {}).get('endpoint_url', '')}: check "
            "AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), or unset it for AWS itself"
        )
    if isinstance(exc, botocore.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        bucket = error.get("BucketName")
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "ExpiredToken"}:
            return f"S3 refused the credentials ({code}): {S3_CREDENTIALS_FIX}"
        if code == "NoSuchBucket":
            return (
                f"the S3 bucket {bucket or ''} does not exist: check the s3:// URI (--source, RAW_ROOT, STAGING_ROOT)"
            )
    return None


@cache
def s3_client() -> Any:
    """A boto3 S3 client from the standard AWS settings (or the Airflow connection AWS_CONN_ID)."""
    import boto3
    from botocore.config import Config

    from ingest.settings import get_settings

    settings = get_settings()
    kwargs: dict[str, Any] = {}
    if settings.aws_conn_id:
        kwargs = _client_kwargs_from_airflow(settings.aws_conn_id, settings.aws_region)
    if settings.aws_endpoint_url and "endpoint_url" not in kwargs:
        kwargs["endpoint_url"] = settings.aws_endpoint_url
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)
    return boto3.client("s3", config=config, **{k: v for k, v in kwargs.items() if v is not None})


def list_files(root: str, suffix: str = "") -> list[StoredFile]:
    """Every file below ``root`` (recursively) whose name ends with ``suffix``, sorted by name."""
    out: list[StoredFile] = []
    if is_s3(root):
        bucket, prefix = split_s3(root)
        paginator = s3_client().get_paginator("list_objects_v2")
        base = prefix + "/" if prefix else ""
        for page in paginator.paginate(Bucket=bucket, Prefix=base):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/") or not key.endswith(suffix):
                    continue
                out.append(StoredFile(f"{S3_SCHEME}{bucket}/{key}", key[len(base) :], int(obj["Size"])))
    else:
        base_path = Path(root)
        if not base_path.exists():
            raise FileNotFoundError(f"source folder does not exist: {root}")
        for path in base_path.rglob("*"):
            if path.is_file() and path.name.endswith(suffix):
                out.append(StoredFile(str(path), path.relative_to(base_path).as_posix(), path.stat().st_size))
    return sorted(out, key=lambda f: f.name)


def list_objects(root: str) -> list[StoredFile]:
    """Everything below ``root``, sorted by name: each file (recursively), and each empty folder.

    A folder (a local directory with nothing in it, or an S3 key ending with ``/``, which
    consoles create as folder markers) comes back with a name ending in ``/`` and size 0,
    so that a caller can account for every object, not only the files.
    """
    if is_s3(root):
        bucket, prefix = split_s3(root)
        paginator = s3_client().get_paginator("list_objects_v2")
        base = prefix + "/" if prefix else ""
        out = [
            StoredFile(f"{S3_SCHEME}{bucket}/{obj['Key']}", obj["Key"][len(base) :], int(obj["Size"]))
            for page in paginator.paginate(Bucket=bucket, Prefix=base)
            for obj in page.get("Contents", [])
            if obj["Key"] != base
        ]
        return sorted(out, key=lambda f: f.name)
    base_path = Path(root)
    if not base_path.exists():
        raise FileNotFoundError(f"source folder does not exist: {root}")
    out = []
    for path in base_path.rglob("*"):
        name = path.relative_to(base_path).as_posix()
        if path.is_file():
            out.append(StoredFile(str(path), name, path.stat().st_size))
        elif path.is_dir() and not any(path.iterdir()):
            out.append(StoredFile(str(path), name + "/", 0))
    return sorted(out, key=lambda f: f.name)


def list_dirs(root: str) -> list[str]:
    """The names of the immediate sub-folders (S3: common prefixes) of ``root``."""
    if is_s3(root):
        bucket, prefix = split_s3(root)
        base = prefix + "/" if prefix else ""
        names: list[str] = []
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=base, Delimiter="/"):
            for cp in page.get("CommonPrefixes", []):
                names.append(cp["Prefix"][len(base) :].rstrip("/"))
        return sorted(names)
    base_path = Path(root)
    if not base_path.exists():
        raise FileNotFoundError(f"source folder does not exist: {root}")
    return sorted(p.name for p in base_path.iterdir() if p.is_dir())


def read_bytes(uri: str) -> bytes:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return Path(uri).read_bytes()


def write_bytes(uri: str, data: bytes) -> None:
    """Write a whole object; local writes are atomic (temp file + rename)."""
    if is_s3(uri):
        bucket, key = split_s3(uri)
        s3_client().put_object(Bucket=bucket, Key=key, Body=data)
        return
    with local_writer(uri) as tmp:
        Path(tmp).write_bytes(data)


@contextmanager
def local_writer(uri: str) -> Iterator[str]:
    """A temporary path beside the local file ``uri``, renamed onto it when the block succeeds."""
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield str(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def exists(uri: str) -> bool:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        try:
            s3_client().head_object(Bucket=bucket, Key=key)
        except Exception:  # noqa: BLE001 - botocore raises ClientError(404)
            return False
        return True
    return Path(uri).exists()


def delete_tree(root: str) -> None:
    """Remove everything below ``root`` (used to clear a week's chunk folder)."""
    if is_s3(root):
        bucket, prefix = split_s3(root)
        keys = [f.name for f in list_files(root)]
        client = s3_client()
        for start in range(0, len(keys), 1000):
            batch = [{"Key": f"{prefix}/{k}"} for k in keys[start : start + 1000]]
            client.delete_objects(Bucket=bucket, Delete={"Objects": batch})
        return
    shutil.rmtree(root, ignore_errors=True)
