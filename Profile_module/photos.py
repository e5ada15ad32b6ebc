"""Profile photos on disk under MEDIA_ROOT, served at MEDIA_URL. The upload is checked and
re-encoded without metadata by core/images.py before it is written here."""

import uuid
from pathlib import Path

from config import get_settings

PHOTO_DIR = "profile"


def media_root() -> Path:
    return Path(get_settings().MEDIA_ROOT).resolve()


def save_photo(user_id: int, content: bytes, extension: str) -> str:
    """Write the bytes under a fresh random name; returns the path relative to MEDIA_ROOT."""
    relative = Path(PHOTO_DIR) / str(user_id) / f"{uuid.uuid4().hex}.{extension}"
    target = media_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return relative.as_posix()


def delete_photo(relative: str) -> None:
    target = (media_root() / relative).resolve()
    if media_root() in target.parents:
        target.unlink(missing_ok=True)


def photo_url(relative: str | None) -> str | None:
    if not relative:
        return None
    return f"{get_settings().MEDIA_URL.rstrip('/')}/{relative}"
