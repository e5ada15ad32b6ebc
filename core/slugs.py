"""URL slugs shared by categories and products: lowercase ASCII words joined by hyphens,
with at least one letter so a slug can never be mistaken for a numeric id."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from core.errors import CODED_VALIDATION_TYPES, UnprocessableError

CODED_VALIDATION_TYPES.add("invalid_slug")

SLUG_MAX_LENGTH = 140
_SLUG_SHAPE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


class InvalidSlug(UnprocessableError):
    code = "invalid_slug"
    message = "A slug needs at least one letter; give one explicitly."


def is_valid_slug(value: str) -> bool:
    return (
        len(value) <= SLUG_MAX_LENGTH
        and _SLUG_SHAPE.fullmatch(value) is not None
        and any(ch.isalpha() for ch in value)
    )


def slugify(text: str) -> str:
    """`"Gut & Microbiome"` -> `"gut-microbiome"`; accents folded; "" if nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")
    slug = slug[:SLUG_MAX_LENGTH].rstrip("-")
    return slug if is_valid_slug(slug) else ""


def _validate_slug(value: str) -> str:
    if not is_valid_slug(value):
        raise PydanticCustomError(
            "invalid_slug",
            "A slug is lowercase letters, digits and single hyphens, with at least one letter.",
        )
    return value


Slug = Annotated[str, StringConstraints(max_length=SLUG_MAX_LENGTH), AfterValidator(_validate_slug)]
