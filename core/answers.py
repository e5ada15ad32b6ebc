"""Answers the `*Out` schemas shape (`from_attributes`): an ORM row, or a frozen dataclass that
holds a row plus what the row does not (`ReadsThrough`)."""

from dataclasses import fields
from typing import Any


class ReadsThrough:
    """Mixin for a dataclass whose first field is a row: an attribute the dataclass does not
    define is read from that row, so a schema sees the row's fields and the extra ones on one
    object (`ProductDetail(product, required_consents)` answers as a product)."""

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; object.__getattribute__ cannot recurse here.
        cls = type(self)
        row_field = _ROW_FIELDS.get(cls)
        if row_field is None:
            row_field = _ROW_FIELDS[cls] = fields(self)[0].name  # type: ignore[arg-type]
        return getattr(object.__getattribute__(self, row_field), name)


# Each ReadsThrough dataclass's row field, found once (`dataclasses.fields` builds a tuple).
_ROW_FIELDS: dict[type, str] = {}
