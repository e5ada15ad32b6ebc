"""Profile photos on disk under MEDIA_ROOT: type checked from the bytes, never the name."""

import uuid
from pathlib import Path

from config import get_settings

# Magic numbers of the formats we accept -> the extension we store them under.
SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"WEBP", 8, "webp"),
]
PHOTO_DIR = "profile"


def detect_image_type(content: bytes) -> str | None:
    for signature, offset, extension in SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            if extension == "webp" and content[:4] != b"RIFF":
                continue
            return extension
    return None


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
