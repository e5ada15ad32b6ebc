"""What the enquiry form's sender is told."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    """The enquiry's id and reference (for a filled honeypot, those the next one would get)."""

    id: int
    reference: str
