"""GET /notifications as its schemas shape it."""

from dataclasses import dataclass

from core.answers import ReadsThrough
from core.pagination import RowPage
from Notification_module.models import Notification


@dataclass(frozen=True)
class Inbox(ReadsThrough):
    """A page of my notifications and how many of all of them are unread."""

    page: RowPage[Notification]
    unread: int
