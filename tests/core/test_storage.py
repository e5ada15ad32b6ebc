"""core/storage.py: the same behaviour from the local folder and from a real S3 server."""

import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from config import DEV_REPORT_ENCRYPTION_KEY, Settings
from core.errors import ServiceUnavailableError, install_error_handlers
from core.storage import (
    EncryptedStorage,
    InvalidStorageKey,
    LocalStorage,
    S3Storage,
    SealedDataInvalid,
    Sealer,
    Storage,
    StorageKeyNotFound,
    StorageUnavailable,
    forget_storage,
    get_sealed_storage,
    get_storage,
    open_sealed,
    seal,
)
from tests.fakes.s3 import REGION, aws_env, s3_bucket, s3_client, s3_server  # noqa: F401 (fixtures)
from tests.support.http import free_port

PDF = b"%PDF-1.7\n% a lab report\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "reports/../../escape",
    "reports/./x",
    "reports//x",
    "reports/",
    ".hidden",
    "reports/.tmp-x",
    "back\\slash",
    "space in name",
    "nul\x00byte",
    "ünïcode",
    "a" * 513,
]


@dataclass
class Backend:
    name: str
    storage: Storage
    raw: Callable[[str], bytes]  # the stored bytes, read directly (not through the backend)


def local_backend(root: Path) -> Backend:
    return Backend("local", LocalStorage(root), lambda key: (root / key).read_bytes())


def s3_backend(endpoint_url: str, bucket: str) -> Backend:
    client = s3_client(endpoint_url)
    storage = S3Storage(bucket, region=REGION, endpoint_url=endpoint_url)
    return Backend(
        "s3", storage, lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read()
    )


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return local_backend(tmp_path / "private")
    return s3_backend(request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket"))


@pytest.fixture(params=["local", "s3"])
def down_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A backend that cannot work: a root below a plain file (unwritable even for root), or an
    S3 endpoint on a port nobody listens on."""
    if request.param == "local":
        blocker = tmp_path / "a-file"
        blocker.write_bytes(b"not a folder")
        return LocalStorage(blocker / "private")
    request.getfixturevalue("aws_env")
    return S3Storage("reports", region=REGION, endpoint_url=f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def fresh_storage_cache() -> Iterator[None]:
    forget_storage()
    yield
    forget_storage()


def test_put_then_get_returns_the_same_bytes(backend: Backend) -> None:
    every_byte = bytes(range(256)) * 64
    backend.storage.put("reports/1/v1.bin", every_byte)
    backend.storage.put("empty", b"")
    assert backend.storage.get("reports/1/v1.bin") == every_byte
    assert backend.storage.get("empty") == b""


def test_put_overwrites_the_previous_bytes(backend: Backend) -> None:
    backend.storage.put("reports/1/v1.pdf", b"first")
    backend.storage.put("reports/1/v1.pdf", b"second, longer")
    assert backend.storage.get("reports/1/v1.pdf") == b"second, longer"


def test_exists_says_whether_a_key_is_stored(backend: Backend) -> None:
    assert backend.storage.exists("reports/2/v1.pdf") is False
    backend.storage.put("reports/2/v1.pdf", PDF)
    assert backend.storage.exists("reports/2/v1.pdf") is True
    assert backend.storage.exists("reports/2") is False  # a prefix is not an object
    assert backend.storage.exists("reports/2/v1.pdf/deeper") is False


def test_get_of_a_deleted_key_raises_not_found(backend: Backend) -> None:
    backend.storage.put("reports/3/v1.pdf", PDF)
    backend.storage.delete("reports/3/v1.pdf")
    assert backend.storage.exists("reports/3/v1.pdf") is False
    with pytest.raises(StorageKeyNotFound):
        backend.storage.get("reports/3/v1.pdf")
    with pytest.raises(StorageKeyNotFound):
        backend.storage.get("never/stored")


def test_not_found_is_not_an_http_answer_by_itself() -> None:
    assert not issubclass(StorageKeyNotFound, ServiceUnavailableError)
    assert not hasattr(StorageKeyNotFound, "status_code")


def test_delete_of_a_missing_key_is_fine(backend: Backend) -> None:
    backend.storage.delete("never/stored")
    backend.storage.put("once", b"x")
    backend.storage.delete("once")
    backend.storage.delete("once")


def test_unsafe_keys_are_refused_by_every_operation(backend: Backend) -> None:
    storage = backend.storage
    for key in BAD_KEYS:
        for operation, arguments in (
            (storage.put, (key, b"x")),
            (storage.get, (key,)),
            (storage.delete, (key,)),
            (storage.exists, (key,)),
        ):
            with pytest.raises(InvalidStorageKey):
                operation(*arguments)  # type: ignore[operator]


def test_sealed_objects_hold_no_plaintext(backend: Backend) -> None:
    sealed = EncryptedStorage(backend.storage, Sealer([Fernet.generate_key()]))
    sealed.put("reports/4/v1.pdf", PDF)
    raw = backend.raw("reports/4/v1.pdf")
    assert b"%PDF" not in raw
    assert b"lab report" not in raw
    assert sealed.get("reports/4/v1.pdf") == PDF
    assert sealed.exists("reports/4/v1.pdf")
    sealed.delete("reports/4/v1.pdf")
    assert not sealed.exists("reports/4/v1.pdf")


def test_data_sealed_with_an_old_key_opens_after_a_new_key_is_prepended(backend: Backend) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    EncryptedStorage(backend.storage, Sealer([old])).put("reports/5/v1.pdf", PDF)
    rotated = EncryptedStorage(backend.storage, Sealer([new, old]))
    assert rotated.get("reports/5/v1.pdf") == PDF
    rotated.put("reports/5/v2.pdf", PDF)  # the newest key seals: the old one alone cannot open
    with pytest.raises(SealedDataInvalid):
        EncryptedStorage(backend.storage, Sealer([old])).get("reports/5/v2.pdf")
    assert EncryptedStorage(backend.storage, Sealer([new])).get("reports/5/v2.pdf") == PDF


def test_reseal_moves_data_to_the_newest_key() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = Sealer([old]).seal(PDF)
    resealed = Sealer([new, old]).reseal(token)
    assert Sealer([new]).open(resealed) == PDF


def test_a_wrong_key_fails_cleanly(backend: Backend) -> None:
    EncryptedStorage(backend.storage, Sealer([Fernet.generate_key()])).put("reports/6", PDF)
    with pytest.raises(SealedDataInvalid) as excinfo:
        EncryptedStorage(backend.storage, Sealer([Fernet.generate_key()])).get("reports/6")
    assert "PDF" not in str(excinfo.value)
    with pytest.raises(SealedDataInvalid):
        Sealer([Fernet.generate_key()]).open(b"not a token at all")


def test_a_storage_outage_is_a_503_storage_unavailable(down_backend: Storage) -> None:
    for operation in (
        lambda: down_backend.put("reports/7/v1.pdf", PDF),
        lambda: down_backend.get("reports/7/v1.pdf"),
        lambda: down_backend.exists("reports/7/v1.pdf"),
        lambda: down_backend.delete("reports/7/v1.pdf"),
    ):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as excinfo:
            operation()
        assert time.monotonic() - started < 5  # short timeouts, few retries: a quick answer
        assert excinfo.value.status_code == 503
        assert excinfo.value.code == "storage_unavailable"


def test_a_missing_bucket_is_an_outage_not_a_missing_key(
    s3_server: str,  # noqa: F811
    aws_env: None,  # noqa: F811
) -> None:
    storage = S3Storage("no-such-bucket", region=REGION, endpoint_url=s3_server)
    with pytest.raises(StorageUnavailable):
        storage.get("reports/8/v1.pdf")
    with pytest.raises(StorageUnavailable):
        storage.put("reports/8/v1.pdf", PDF)


def test_storage_unavailable_renders_the_one_error_shape() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/download")
    def download() -> None:
        raise StorageUnavailable()

    answer = TestClient(app).get("/download")
    assert answer.status_code == 503
    assert answer.json()["code"] == "storage_unavailable"
    assert answer.headers["Retry-After"]
    assert issubclass(StorageUnavailable, ServiceUnavailableError)


def test_local_files_are_0600_in_0700_folders_and_written_atomically(tmp_path: Path) -> None:
    root = tmp_path / "private"
    storage = LocalStorage(root)
    storage.put("reports/9/v1.pdf", PDF)
    storage.put("reports/9/v1.pdf", PDF + b"amended")
    path = root / "reports" / "9" / "v1.pdf"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (root, root / "reports", root / "reports" / "9"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(os.listdir(path.parent)) == ["v1.pdf"]  # no temporary file left behind


def test_a_failed_local_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path / "private")
    storage.put("reports/10/v1.pdf", b"old")

    def broken_replace(_source: str, _target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StorageUnavailable):
        storage.put("reports/10/v1.pdf", b"new")
    monkeypatch.undo()
    assert storage.get("reports/10/v1.pdf") == b"old"
    assert os.listdir(tmp_path / "private" / "reports" / "10") == ["v1.pdf"]


def test_a_symlink_cannot_lead_a_key_out_of_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "private"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidStorageKey):
        LocalStorage(root).put("link/x", b"escaped")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("inside", ["media", "media/private", "media/a/b"])
def test_settings_refuse_a_private_root_inside_media_root(tmp_path: Path, inside: str) -> None:
    with pytest.raises(ValidationError, match="PRIVATE_STORAGE_ROOT must not be inside"):
        Settings(
            MEDIA_ROOT=str(tmp_path / "media"),
            PRIVATE_STORAGE_ROOT=str(tmp_path / inside),
            _env_file=None,
        )


def test_settings_refuse_a_private_root_that_contains_media_root(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PRIVATE_STORAGE_ROOT must not be inside"):
        Settings(
            MEDIA_ROOT=str(tmp_path / "data" / "media"),
            PRIVATE_STORAGE_ROOT=str(tmp_path / "data"),
            _env_file=None,
        )


def test_the_configured_local_root_is_not_under_media_root(
    settings: Settings, fresh_storage_cache: None
) -> None:
    storage = get_storage()
    assert isinstance(storage, LocalStorage)
    media = Path(settings.MEDIA_ROOT).resolve()
    assert media not in storage.root.parents
    assert storage.root != media


def test_settings_need_a_bucket_for_s3() -> None:
    with pytest.raises(ValidationError, match="STORAGE_BACKEND=s3 needs S3_BUCKET"):
        Settings(STORAGE_BACKEND="s3", _env_file=None)
    with pytest.raises(ValidationError, match="REPORT_ENCRYPTION_KEY must be comma-separated"):
        Settings(REPORT_ENCRYPTION_KEY=f"{Fernet.generate_key().decode()},nope", _env_file=None)


def test_get_storage_follows_the_settings_and_caches_per_configuration(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    s3_server: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
    fresh_storage_cache: None,
) -> None:
    monkeypatch.setattr(settings, "PRIVATE_STORAGE_ROOT", str(tmp_path / "private"))
    local = get_storage()
    assert isinstance(local, LocalStorage)
    assert get_storage() is local
    monkeypatch.setattr(settings, "STORAGE_BACKEND", "s3")
    monkeypatch.setattr(settings, "S3_BUCKET", s3_bucket)
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", s3_server)
    monkeypatch.setattr(settings, "S3_REGION", REGION)
    remote = get_storage()
    assert isinstance(remote, S3Storage)
    assert get_storage() is remote
    get_sealed_storage().put("reports/11/v1.pdf", PDF)
    assert (
        b"%PDF"
        not in s3_client(s3_server)
        .get_object(Bucket=s3_bucket, Key="reports/11/v1.pdf")["Body"]
        .read()
    )
    assert get_sealed_storage().get("reports/11/v1.pdf") == PDF


def test_seal_uses_the_configured_keys_with_a_development_default(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fresh_storage_cache: None
) -> None:
    assert settings.report_encryption_keys == [DEV_REPORT_ENCRYPTION_KEY]
    token = seal(PDF)
    assert b"%PDF" not in token
    assert open_sealed(token) == PDF
    new = Fernet.generate_key().decode()
    monkeypatch.setattr(
        settings, "REPORT_ENCRYPTION_KEY", SecretStr(f"{new},{DEV_REPORT_ENCRYPTION_KEY}")
    )
    assert open_sealed(token) == PDF
    assert Sealer([new]).open(seal(PDF)) == PDF  # the prepended key seals from now on
    monkeypatch.setattr(settings, "REPORT_ENCRYPTION_KEY", SecretStr(new))
    with pytest.raises(SealedDataInvalid):
        open_sealed(token)
