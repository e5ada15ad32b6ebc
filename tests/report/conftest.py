"""The storage each report test runs on: a fresh local folder, or a fresh bucket on the S3 test
server (every storage-touching test runs on both)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from core.storage import forget_storage
from tests.fakes.s3 import aws_env, s3_bucket, s3_server  # noqa: F401 (fixtures)
from tests.support.report import Stored


@pytest.fixture(params=["local", "s3"])
def stored(
    request: pytest.FixtureRequest,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Stored]:
    """Reports go to a fresh private folder, or a fresh bucket on the S3 test server."""
    root = tmp_path / "private"
    monkeypatch.setattr(settings, "PRIVATE_STORAGE_ROOT", str(root))
    if request.param == "local":
        view = Stored("local", root)
    else:
        endpoint = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        monkeypatch.setattr(settings, "STORAGE_BACKEND", "s3")
        monkeypatch.setattr(settings, "S3_BUCKET", bucket)
        monkeypatch.setattr(settings, "S3_ENDPOINT_URL", endpoint)
        view = Stored("s3", root, endpoint, bucket)
    forget_storage()
    yield view
    forget_storage()
