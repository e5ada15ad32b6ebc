"""Engine, session factory and the declarative base shared by every module."""

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import DateTime, Engine, Enum, MetaData, Select, create_engine, event, select
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import CursorResult, Dialect, Result, Row
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

from config import get_settings
from core.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (microseconds on MySQL), returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def stored_as_string(enum: type[StrEnum], length: int) -> Enum:
    """A status column: a VARCHAR(length) holding the members' values, the same DDL on SQLite
    and MariaDB (no native ENUM, no CHECK); read back as members, an unknown value refused."""
    return Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _enable_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy own BEGIN/SAVEPOINT on pysqlite and enforce foreign keys."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def build_engine(url: str, *, for_migrations: bool = False) -> Engine:
    """An engine with the pool settings for MySQL, or a thread-shareable SQLite engine.

    Requests' statements give up after DB_READ_TIMEOUT (a partitioned server would otherwise
    hold them for minutes); `for_migrations` drops that limit, since a DDL statement or the
    wait for another replica's migration lock may rightly take longer.
    """
    settings = get_settings()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        _enable_sqlite_transactions(engine)
        return engine
    connect_args: dict[str, Any] = {
        "connect_timeout": settings.DB_CONNECT_TIMEOUT,
        "charset": "utf8mb4",
    }
    if not for_migrations:
        connect_args["read_timeout"] = settings.DB_READ_TIMEOUT
        connect_args["write_timeout"] = settings.DB_READ_TIMEOUT
    # READ COMMITTED: a check repeated after taking a lock sees rows committed meanwhile.
    engine = create_engine(
        url,
        isolation_level="READ COMMITTED",
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT,
        pool_recycle=settings.DB_POOL_RECYCLE,
        # The most recently returned connection goes out first: under load the same few stay
        # busy (never idle long enough to be pinged) and the rest idle until recycled.
        pool_use_lifo=True,
        # Every user of a connection ends its own transaction (the request's commit or
        # rollback; closing a Connection or Session rolls back an open one), so the pool's own
        # ROLLBACK on check-in would be a second, empty round trip on every request.
        pool_reset_on_return=None,
        connect_args=connect_args,
    )
    _ping_after_idle(engine)
    if not for_migrations:
        _limit_lock_waits(engine)
    return engine


# A connection back from the pool after this long unused is pinged first.
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_after_idle(engine: Engine) -> None:
    """`pool_pre_ping`, only for connections that sat unused in the pool for a while.

    A connection that served a request a moment ago is as alive as a ping would say; under load
    that is every checkout, and a ping on each one was a round trip per request. After a pause
    (when a database restart or failover may have gone unnoticed) it is pinged, and a dead one
    is replaced before the request uses it: raising DisconnectionError from `checkout` makes
    the pool discard it and connect afresh. A connection that dies while in use fails its
    request (a 503), and SQLAlchemy then invalidates every connection pooled before it."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping(reconnect=False)
        except Exception as dead:
            raise DisconnectionError(str(dead)) from dead


def _limit_lock_waits(engine: Engine) -> None:
    """A row-lock wait ends with error 1205 (a retryable 503 try_again) after
    DB_LOCK_WAIT_TIMEOUT, before DB_READ_TIMEOUT would cut the connection and make it look like
    an unreachable database. Read when each connection opens."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        seconds = int(get_settings().DB_LOCK_WAIT_TIMEOUT)
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET SESSION innodb_lock_wait_timeout = {seconds}")


engine = build_engine(get_settings().DATABASE_URL)
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


# A row of any width (as `Result.all()` gives).
AnyRow = Row[*tuple[Any, ...]]


def row_select(model: type[Base]) -> Select[Any]:
    """`SELECT` of a model's columns, read as rows (no entity loaded, no identity map): the way a
    read-only answer is built where hydration is the cost (docs/performance.md). The rows are
    read by attribute like the entity, so the answer schemas take either."""
    return select(*model.__table__.columns)


def read_rows(db: Session, statement: Executable, **params: Any) -> Sequence[AnyRow]:
    """The rows of a statement built once (at import, with `bindparam`s) run on the session's
    connection: no statement built, no cache key computed and no ORM result machinery per
    request (docs/performance.md: about half the CPU of `db.execute` on a freshly built
    select for the order detail's join). In the session's transaction like any read, and like
    `db.execute` it sees the session's pending changes (flushed first when autoflush is on)."""
    if db.autoflush:
        db.flush()
    return db.connection().execute(statement, params).all()


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE statement's result changed."""
    return cast(CursorResult[Any], result).rowcount


ROLLBACK_ACTIONS_KEY = "after_rollback"
T = TypeVar("T")
L = TypeVar("L")


def on_rollback(db: Session, action: Callable[[Session], object]) -> None:
    """Run `action` in a fresh transaction if this request fails and its changes are rolled back.

    For consequences of a refusal that must stick: the audit entry of a rejected attempt, or a
    session revoked because its refresh token was replayed.
    """
    db.info.setdefault(ROLLBACK_ACTIONS_KEY, []).append(action)


def run_rollback_actions(db: Session) -> None:
    actions = db.info.pop(ROLLBACK_ACTIONS_KEY, [])
    if not actions:
        return
    for action in actions:
        action(db)
    db.commit()


def locked(statement: Select[L], *, of: Any = None) -> Select[L]:
    """A locking read: `SELECT ... FOR UPDATE` (of `of`'s table only, when given), the rows
    locked until commit, and what this session already holds refreshed from them (another
    transaction may have changed them since this session first read them)."""
    return statement.with_for_update(of=of).execution_options(populate_existing=True)


def call_outside_transaction(db: Session, call: Callable[[], T]) -> T:
    """Commit what the request has recorded, then `call()` with no transaction open: a
    provider (Razorpay) is never called while a row stays locked. What `call` then writes runs
    in a new transaction, ended with the request as usual; the request's after-rollback actions
    still cover it (a failed call undoes what the first commit kept, e.g. a pending order)."""
    db.commit()
    return call()


COMMIT_ACTIONS_KEY = "after_commit"
_log = logging.getLogger("nucleotide.db")


def on_commit(db: Session, action: Callable[[], None]) -> None:
    """Run `action` once this session's transaction has committed (e.g. delete a replaced file)."""
    db.info.setdefault(COMMIT_ACTIONS_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_commit_actions(session: Session) -> None:
    for action in session.info.pop(COMMIT_ACTIONS_KEY, []):
        try:
            action()
        except Exception:
            _log.exception("post-commit action failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_commit_actions(session: Session, _previous: Any) -> None:
    session.info.pop(COMMIT_ACTIONS_KEY, None)
