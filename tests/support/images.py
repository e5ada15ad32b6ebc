"""Real images for the photo tests (Pillow), with or without EXIF, and what a stored one is."""

import io

from PIL import Image

ORIENTATION = 0x0112
GPS_IFD = 0x8825
# Where the photo was taken, as a phone camera writes it: Bengaluru, 12.9716 N 77.5946 E.
GPS = {1: "N", 2: (12.0, 58.0, 17.76), 3: "E", 4: (77.0, 35.0, 40.56)}


def camera_exif(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Nucleotide Test Camera"  # make
    exif[0xA431] = "SN-4711-0815"  # body serial number
    if orientation is not None:
        exif[ORIENTATION] = orientation
    exif[GPS_IFD] = GPS
    return exif.tobytes()


def image_bytes(fmt: str, size: tuple[int, int] = (4, 3), exif: bytes | None = None) -> bytes:
    """A small image of `fmt` (PNG, JPEG, WEBP): a red left half, a blue right half."""
    image = Image.new("RGB", size, (220, 30, 30))
    image.paste((30, 30, 220), (size[0] // 2, 0, size[0], size[1]))
    output = io.BytesIO()
    image.save(output, format=fmt, **({"exif": exif} if exif else {}))
    return output.getvalue()


def described(content: bytes) -> tuple[str | None, tuple[int, int]]:
    """Format and size: what a re-encoded photo keeps of its upload."""
    with Image.open(io.BytesIO(content)) as image:
        return image.format, image.size


def exif_of(content: bytes) -> dict:
    with Image.open(io.BytesIO(content)) as image:
        exif = image.getexif()
        return {**dict(exif), **({"gps": dict(exif.get_ifd(GPS_IFD))} if GPS_IFD in exif else {})}


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
WEBP = image_bytes("WEBP")
