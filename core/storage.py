"""Private file storage by key (`local` folder or `s3`), and the Fernet sealing above it.

Backends only move bytes; `EncryptedStorage` seals on the way in and opens on the way out, so a
report is never at rest in the clear. A backend that cannot be reached or written answers
`StorageUnavailable` (503 `storage_unavailable`); a key that is not there, `StorageKeyNotFound`
(internal: the caller decides what a missing file means).
"""

import hashlib
import logging
import os
import re
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config import Settings, get_settings
from core.errors import ServiceUnavailableError

logger = logging.getLogger("nucleotide.storage")

MAX_KEY_LENGTH = 512
# Segments start with a letter or digit: no "", ".", "..", hidden names or our temporary files.
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_KEY = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*")
_TEMP_PREFIX = ".tmp-"
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}


class StorageUnavailable(ServiceUnavailableError):
    code = "storage_unavailable"
    message = "File storage is temporarily unavailable; try again shortly."


class StorageKeyNotFound(LookupError):
    """No object under this key (not an HTTP answer by itself)."""


class InvalidStorageKey(ValueError):
    """A key outside the safe charset, absolute, or with empty/dot segments."""


class SealedDataInvalid(Exception):
    """The stored bytes do not open with any configured key (wrong key, or tampered with)."""


def check_key(key: str) -> str:
    """The key itself if it is safe for every backend: `a/b-1.pdf`, never `../x` or `/x`."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidStorageKey(f"invalid storage key: {key!r}")
    return key


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def _unavailable(backend: str, operation: str, exc: BaseException) -> StorageUnavailable:
    logger.error("storage %s %s failed: %s", backend, operation, type(exc).__name__)
    return StorageUnavailable()


class LocalStorage:
    """Files under a root, written atomically: private (folders 0700, files 0600), or with
    `public` readable by a web server running as another user (0755, 0644)."""

    def __init__(self, root: str | Path, *, public: bool = False) -> None:
        self.root = Path(root).resolve()
        self.dir_mode, self.file_mode = (0o755, 0o644) if public else (0o700, 0o600)

    def path_for(self, key: str) -> Path:
        path = self.root / check_key(key)
        # The charset already forbids escaping; this also refuses a symlink pointing outside.
        if self.root not in path.resolve().parents:
            raise InvalidStorageKey(f"invalid storage key: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self.path_for(key)
        try:
            self._make_dirs(path.parent)
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)  # mode 0600
        except OSError as exc:
            raise _unavailable("local", "put", exc) from exc
        try:
            with os.fdopen(fd, "wb") as file:
                if self.file_mode != 0o600:
                    os.fchmod(file.fileno(), self.file_mode)
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise _unavailable("local", "put", exc) from exc

    def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise StorageKeyNotFound(key) from exc
        except OSError as exc:
            raise self._missing_or_unavailable(key, "get", exc) from exc

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            error = self._missing_or_unavailable(key, "delete", exc)
            if isinstance(error, StorageUnavailable):
                raise error from exc

    def exists(self, key: str) -> bool:
        path = self.path_for(key)
        try:
            return stat.S_ISREG(path.stat().st_mode)
        except FileNotFoundError:
            return False
        except OSError as exc:
            error = self._missing_or_unavailable(key, "exists", exc)
            if isinstance(error, StorageUnavailable):
                raise error from exc
            return False

    def _missing_or_unavailable(
        self, key: str, operation: str, exc: OSError
    ) -> StorageKeyNotFound | StorageUnavailable:
        # `a/b` when `a` is a file is a missing key; a root that is not a folder is an outage.
        if isinstance(exc, NotADirectoryError) and self.root.is_dir():
            return StorageKeyNotFound(key)
        return _unavailable("local", operation, exc)

    def _make_dirs(self, folder: Path) -> None:
        # Each level made here with dir_mode (os.makedirs gives intermediate folders the umask's
        # mode).
        missing = []
        current = folder
        while not current.is_dir():
            missing.append(current)
            if current == current.parent:
                break
            current = current.parent
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=self.dir_mode)
            except FileExistsError:
                if not directory.is_dir():
                    raise
            directory.chmod(self.dir_mode)


class S3Storage:
    """Objects in one bucket, through boto3 (credentials from the usual AWS chain)."""

    def __init__(
        self,
        bucket: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        max_attempts: int = 2,
    ) -> None:
        self.bucket = bucket
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            # Path-style URLs for S3-compatible stores at an address rather than a domain.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        # A session of its own: boto3's default session is not safe to share between threads.
        self.client: Any = boto3.session.Session().client(
            "s3", region_name=region, endpoint_url=endpoint_url or None, config=config
        )

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
    ) -> None:
        """Store `data`; the headers, when given, are what the bucket serves the object with."""
        headers = {"ContentType": content_type, "CacheControl": cache_control}
        given = {name: value for name, value in headers.items() if value is not None}
        self._call("put", "put_object", Key=check_key(key), Body=data, **given)

    def get(self, key: str) -> bytes:
        try:
            answer = self._call("get", "get_object", Key=check_key(key))
            body: bytes = answer["Body"].read()
        except ClientError as exc:  # _call lets only "no such key" through
            raise StorageKeyNotFound(key) from exc
        except BotoCoreError as exc:  # the body read failing half way
            raise _unavailable("s3", "get", exc) from exc
        return body

    def delete(self, key: str) -> None:
        # S3 answers 204 for a key that is not there: deleting twice is fine.
        self._call("delete", "delete_object", Key=check_key(key))

    def exists(self, key: str) -> bool:
        try:
            self._call("exists", "head_object", Key=check_key(key))
        except ClientError:  # _call lets only "no such key" through
            return False
        return True

    def _call(self, operation: str, method: str, **arguments: Any) -> Any:
        """One client call: a missing key stays a ClientError, every other failure (unreachable,
        timed out, no credentials, access denied, no bucket) becomes StorageUnavailable."""
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **arguments)
        except ClientError as exc:
            if operation in ("get", "exists") and _error_code(exc) in _NOT_FOUND_CODES:
                raise
            raise _unavailable("s3", operation, exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("s3", operation, exc) from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Sealer:
    """Fernet over a list of keys: the first seals, any of them opens (key rotation)."""

    def __init__(self, keys: list[str] | list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def open(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise SealedDataInvalid(
                "the stored data does not open with the configured keys"
            ) from exc

    def reseal(self, token: bytes) -> bytes:
        """The same data sealed under the newest key (for re-encrypting after a rotation)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise SealedDataInvalid(
                "the stored data does not open with the configured keys"
            ) from exc


class EncryptedStorage:
    """The storage interface over a backend, sealing every object at rest."""

    def __init__(self, backend: Storage, sealer: Sealer) -> None:
        self.backend = backend
        self.sealer = sealer

    def put(self, key: str, data: bytes) -> None:
        self.backend.put(key, self.sealer.seal(data))

    def get(self, key: str) -> bytes:
        return self.sealer.open(self.backend.get(key))

    def delete(self, key: str) -> None:
        self.backend.delete(key)

    def exists(self, key: str) -> bool:
        return self.backend.exists(key)


def build_storage(settings: Settings) -> Storage:
    if settings.STORAGE_BACKEND == "s3":
        if not settings.S3_BUCKET:
            raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        return S3Storage(
            settings.S3_BUCKET,
            region=settings.S3_REGION,
            endpoint_url=settings.S3_ENDPOINT_URL,
            connect_timeout=settings.S3_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.S3_READ_TIMEOUT_SECONDS,
            max_attempts=settings.S3_MAX_ATTEMPTS,
        )
    return LocalStorage(settings.PRIVATE_STORAGE_ROOT)


_lock = threading.Lock()
_backends: dict[tuple[Any, ...], Storage] = {}
_sealers: dict[tuple[str, ...], Sealer] = {}


def _backend_settings(settings: Settings) -> tuple[Any, ...]:
    return (
        settings.STORAGE_BACKEND,
        str(Path(settings.PRIVATE_STORAGE_ROOT).resolve()),
        settings.S3_BUCKET,
        settings.S3_ENDPOINT_URL,
        settings.S3_REGION,
        settings.S3_CONNECT_TIMEOUT_SECONDS,
        settings.S3_READ_TIMEOUT_SECONDS,
        settings.S3_MAX_ATTEMPTS,
    )


def get_storage() -> Storage:
    """The configured backend (raw bytes), one per distinct storage configuration."""
    settings = get_settings()
    wanted = _backend_settings(settings)
    with _lock:
        if wanted not in _backends:
            _backends[wanted] = build_storage(settings)
        return _backends[wanted]


def report_sealer() -> Sealer:
    """The Sealer over `REPORT_ENCRYPTION_KEY` (one per distinct key list)."""
    keys = tuple(get_settings().report_encryption_keys)
    with _lock:
        if keys not in _sealers:
            _sealers[keys] = Sealer(list(keys))
        return _sealers[keys]


def seal(data: bytes) -> bytes:
    return report_sealer().seal(data)


def open_sealed(token: bytes) -> bytes:
    return report_sealer().open(token)


def get_sealed_storage() -> EncryptedStorage:
    """The configured backend with every object sealed under the report keys."""
    return EncryptedStorage(get_storage(), report_sealer())


def forget_storage() -> None:
    """Drop the cached backends and sealers (tests, or a re-configured process)."""
    with _lock:
        _backends.clear()
        _sealers.clear()


class StoredFileUnreadable(Exception):
    """A stored private file is missing, does not open with our keys, or is not the file whose
    SHA-256 was recorded: never served (the module answers its own 500)."""


def read_verified(key: str, sha256: str) -> bytes:
    """The sealed file under `key`, opened, and only if it is still the recorded file."""
    try:
        content = get_sealed_storage().get(key)
    except (StorageKeyNotFound, SealedDataInvalid) as exc:
        raise StoredFileUnreadable(type(exc).__name__) from exc
    if hashlib.sha256(content).hexdigest() != sha256:
        raise StoredFileUnreadable("SHA-256 differs from the recorded one")
    return content


def delete_quietly(key: str) -> None:
    """Best effort (after a rollback, after an erasure): a storage outage is logged, not raised."""
    try:
        get_storage().delete(key)
    except StorageUnavailable:
        logger.warning("private file %s could not be deleted now", key)
