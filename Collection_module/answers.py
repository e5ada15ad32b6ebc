"""A home collection as its schemas shape it."""

from dataclasses import dataclass

from Collection_module.models import Collection
from core.answers import ReadsThrough
from core.validation import mask_phone


@dataclass(frozen=True)
class CustomerCollection(ReadsThrough):
    """A collection as its customer sees it: the technician's phone masked, like on the order."""

    collection: Collection

    @property
    def technician_phone(self) -> str | None:
        phone = self.collection.technician_phone
        return mask_phone(phone) if phone else None
