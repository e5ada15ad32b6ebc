"""A real S3 HTTP server on 127.0.0.1 (moto's ThreadedMotoServer), and fresh buckets on it."""

import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "ap-south-1"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of one S3 server for the whole session (port 0: the OS picks a free one)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials through the ordinary AWS chain; nothing read from ~/.aws, no IMDS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@lru_cache
def s3_client(endpoint_url: str) -> Any:
    """A plain boto3 client on the test server, to look at objects behind the backend's back
    (made once, by a fixture that has put the dummy credentials in the environment)."""
    return boto3.session.Session().client("s3", region_name=REGION, endpoint_url=endpoint_url)


@pytest.fixture
def s3_bucket(s3_server: str, aws_env: None) -> Iterator[str]:
    """A fresh, empty bucket for one test, emptied and removed afterwards."""
    client = s3_client(s3_server)
    name = f"test-{uuid.uuid4().hex}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    try:
        yield name
    finally:
        listing = client.list_objects_v2(Bucket=name)
        for item in listing.get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)
