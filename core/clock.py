"""The one clock and the one time zone.

Moments are aware datetimes in UTC (`utcnow`), stored as UTC; calendar days and opening hours
are Indian (`IST`, Asia/Kolkata: +05:30, no daylight saving): "today" is today in Kolkata, not
on the server. Tests move the clock by setting `frozen` (monkeypatch it): every reader of the
clock, the database's timestamps included, then sees that moment."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")

# Set only by tests: the moment the clock shows instead of the real one.
frozen: datetime | None = None


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return frozen.astimezone(UTC) if frozen is not None else datetime.now(UTC)


def wall_utcnow() -> datetime:
    """The real moment, never frozen. Authentication runs on it: a JWT's iat and exp are
    checked by PyJWT against the wall clock, and the login session a token stands for lives
    on the same clock (Login_module), so a test that moves the clock stays logged in."""
    return datetime.now(UTC)


def now_ist() -> datetime:
    """Now, aware, in Kolkata."""
    return utcnow().astimezone(IST)


def today_ist() -> date:
    """Today's date in Kolkata."""
    return now_ist().date()


def as_ist(moment: datetime) -> datetime:
    """`moment` in Kolkata (a naive one is taken as UTC, as the database stores it)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(IST)
