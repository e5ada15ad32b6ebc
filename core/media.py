"""Public media (home banners): images anyone may load, stored by key and served by URL.

`PUBLIC_MEDIA_BACKEND=local` keeps them under MEDIA_ROOT (readable by a web server: files 0644)
and this app serves them at MEDIA_URL; `s3` puts them in MEDIA_S3_BUCKET, a bucket of their own
made public by its policy or a CDN, and links them at MEDIA_S3_PUBLIC_URL. Keys are never reused
(each upload gets a fresh random name), so an object is served as immutable and a CDN may keep
it for a year. What is stored here has been checked and re-encoded first (core/images.py);
private files (reports, invoices) never come here (core/storage.py).
"""

import logging
import threading
from typing import Any

from config import Settings, get_settings
from core.storage import LocalStorage, S3Storage, StorageUnavailable

logger = logging.getLogger("nucleotide.media")

IMMUTABLE = "public, max-age=31536000, immutable"


class PublicMedia:
    """One backend and the address its objects are served at."""

    def __init__(self, backend: LocalStorage | S3Storage, base_url: str) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store under `key` (StorageUnavailable when the store can't be written)."""
        if isinstance(self.backend, S3Storage):
            self.backend.put(key, data, content_type=content_type, cache_control=IMMUTABLE)
        else:  # the static files server tells the type from the extension
            self.backend.put(key, data)

    def delete(self, key: str) -> None:
        self.backend.delete(key)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{key}"


def build_public_media(settings: Settings) -> PublicMedia:
    if settings.PUBLIC_MEDIA_BACKEND == "s3":
        if not (settings.MEDIA_S3_BUCKET and settings.MEDIA_S3_PUBLIC_URL):
            raise RuntimeError("PUBLIC_MEDIA_BACKEND=s3 needs MEDIA_S3_BUCKET, MEDIA_S3_PUBLIC_URL")
        backend = S3Storage(
            settings.MEDIA_S3_BUCKET,
            region=settings.S3_REGION,
            endpoint_url=settings.S3_ENDPOINT_URL,
            connect_timeout=settings.S3_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.S3_READ_TIMEOUT_SECONDS,
            max_attempts=settings.S3_MAX_ATTEMPTS,
        )
        return PublicMedia(backend, settings.MEDIA_S3_PUBLIC_URL)
    return PublicMedia(LocalStorage(settings.MEDIA_ROOT, public=True), settings.MEDIA_URL)


_lock = threading.Lock()
_built: dict[tuple[Any, ...], PublicMedia] = {}


def get_public_media() -> PublicMedia:
    """The configured store, one per distinct configuration (tests switch it)."""
    settings = get_settings()
    wanted = (
        settings.PUBLIC_MEDIA_BACKEND,
        settings.MEDIA_ROOT,
        settings.MEDIA_URL,
        settings.MEDIA_S3_BUCKET,
        settings.MEDIA_S3_PUBLIC_URL,
        settings.S3_ENDPOINT_URL,
        settings.S3_REGION,
        settings.S3_CONNECT_TIMEOUT_SECONDS,
        settings.S3_READ_TIMEOUT_SECONDS,
        settings.S3_MAX_ATTEMPTS,
    )
    with _lock:
        if wanted not in _built:
            _built[wanted] = build_public_media(settings)
        return _built[wanted]


def public_url(key: str | None) -> str | None:
    """Where the apps load the object under `key` from; None for no key."""
    return get_public_media().url(key) if key else None


def delete_public_quietly(key: str) -> None:
    """Best effort (a replaced or withdrawn image, after the commit; an upload whose request
    failed): a storage outage is logged, not raised."""
    try:
        get_public_media().delete(key)
    except StorageUnavailable:
        logger.warning("public media %s could not be deleted now", key)
