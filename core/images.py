"""Uploaded images that will be shown to others (profile photos, home banners): the type told
by the bytes, never the name or the declared content type, and the picture drawn again without
metadata (EXIF GPS, camera serials, comments) before it is stored."""

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Magic numbers of the formats we accept -> the extension we store them under.
SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"WEBP", 8, "webp"),
]
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# What Pillow calls each accepted type, and the modes its encoder takes (others are converted).
PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
ENCODER_MODES = {
    "jpg": ({"RGB", "L", "CMYK"}, "RGB"),
    "png": ({"RGB", "RGBA", "L", "LA", "P", "I", "I;16", "1"}, "RGBA"),
    "webp": ({"RGB", "RGBA"}, "RGBA"),
}
# A few MB of compressed bytes can decode to billions of pixels; nothing we show needs this many.
MAX_IMAGE_PIXELS = 40_000_000


@dataclass(frozen=True)
class CleanImage:
    """An accepted upload, re-encoded: its bytes, the extension it is stored under and the
    content type it is served with."""

    data: bytes
    extension: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


def detect_image_type(content: bytes) -> str | None:
    for signature, offset, extension in SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            if extension == "webp" and content[:4] != b"RIFF":
                continue
            return extension
    return None


def reencode_without_metadata(
    content: bytes, extension: str, *, max_pixels: int = MAX_IMAGE_PIXELS
) -> bytes | None:
    """The image drawn again in its own format, EXIF orientation applied, and nothing else of
    the upload kept (no EXIF, XMP, comments or text chunks; the colour profile stays). None if
    the bytes are not a whole image of that type, or it has more than `max_pixels` pixels."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format != PILLOW_FORMATS[extension]:
                return None
            width, height = image.size
            if width * height > max_pixels:
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


def clean_image(content: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> CleanImage | None:
    """A JPEG, PNG or WebP upload re-encoded without metadata; None for anything else (another
    type, a truncated or corrupt file, too many pixels)."""
    extension = detect_image_type(content)
    if extension is None:
        return None
    cleaned = reencode_without_metadata(content, extension, max_pixels=max_pixels)
    return CleanImage(cleaned, extension) if cleaned is not None else None
