"""GET /sessions as its schemas shape it."""

from dataclasses import dataclass

from core.answers import ReadsThrough
from Login_module.models import DeviceSession


@dataclass(frozen=True)
class SessionAnswer(ReadsThrough):
    session: DeviceSession
    is_current: bool


@dataclass(frozen=True)
class SessionList:
    count: int
    max_sessions: int
    sessions: list[SessionAnswer]
