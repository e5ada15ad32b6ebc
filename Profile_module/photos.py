"""Profile photos on disk under MEDIA_ROOT: type checked from the bytes, never the name, and
re-encoded without metadata (EXIF GPS, camera serials, comments) before they are served."""

import io
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from config import get_settings

# Magic numbers of the formats we accept -> the extension we store them under.
SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"WEBP", 8, "webp"),
]
PHOTO_DIR = "profile"
# What Pillow calls each accepted type, and the modes its encoder takes (others are converted).
PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
ENCODER_MODES = {
    "jpg": ({"RGB", "L", "CMYK"}, "RGB"),
    "png": ({"RGB", "RGBA", "L", "LA", "P", "I", "I;16", "1"}, "RGBA"),
    "webp": ({"RGB", "RGBA"}, "RGBA"),
}
# A 5 MB file can decode to billions of pixels; a profile photo needs nowhere near this many.
MAX_PHOTO_PIXELS = 40_000_000


def detect_image_type(content: bytes) -> str | None:
    for signature, offset, extension in SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            if extension == "webp" and content[:4] != b"RIFF":
                continue
            return extension
    return None


def reencode_without_metadata(content: bytes, extension: str) -> bytes | None:
    """The image drawn again in its own format, EXIF orientation applied, and nothing else of
    the upload kept (no EXIF, XMP, comments or text chunks; the colour profile stays). None if
    the bytes are not a whole image of that type."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format != PILLOW_FORMATS[extension]:
                return None
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                return None
            icc_profile = image.info.get("icc_profile")
            drawn = ImageOps.exif_transpose(image)  # loads the pixels; a copy, orientation applied
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    modes, fallback = ENCODER_MODES[extension]
    if drawn.mode not in modes:
        alpha = "A" in drawn.mode or "transparency" in drawn.info
        drawn = drawn.convert(fallback if alpha else "RGB")
    drawn.info = {}  # encoders fall back to the source's info (exif among it): keep none
    options: dict[str, object] = {"icc_profile": icc_profile} if icc_profile else {}
    if extension == "jpg":
        options["quality"] = 90
    output = io.BytesIO()
    drawn.save(output, format=PILLOW_FORMATS[extension], **options)
    return output.getvalue()


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
