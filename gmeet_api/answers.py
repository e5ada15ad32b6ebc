"""Counselling answers as their schemas shape them."""

from dataclasses import dataclass

from core.answers import ReadsThrough
from gmeet_api.models import Counsellor


@dataclass(frozen=True)
class ConnectResult(ReadsThrough):
    """The connected counsellor (answers as the row) and whether they were new."""

    counsellor: Counsellor
    is_new: bool
