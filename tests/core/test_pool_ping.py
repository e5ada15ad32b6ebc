"""Pooled connections are pinged only after sitting unused (database.PING_AFTER_IDLE_SECONDS):
a dead idle one is replaced before a request uses it; a busy one costs no round trip."""

import time
from collections.abc import Iterator

import pymysql
import pytest
from sqlalchemy import Engine, text

import database
from database import build_engine
from tests.support.database import TEST_DATABASE_URL, requires_mariadb

pytestmark = requires_mariadb


@pytest.fixture
def pool() -> Iterator[Engine]:
    engine = build_engine(TEST_DATABASE_URL or "")
    yield engine
    engine.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    real_ping = pymysql.connections.Connection.ping

    def counted(self: pymysql.connections.Connection, reconnect: bool = True) -> None:
        sent.append(1)
        real_ping(self, reconnect)

    monkeypatch.setattr(pymysql.connections.Connection, "ping", counted)
    return sent


def _connection_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT CONNECTION_ID()")))


def test_a_dead_connection_back_from_a_pause_is_replaced_before_use(
    pool: Engine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.2)
    idle_id = _connection_id(pool)  # the pool's one connection, now back in it
    url = pool.url
    with (
        pymysql.connect(
            host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
        ) as admin,
        admin.cursor() as cursor,
    ):
        cursor.execute(f"KILL {idle_id}")  # the server drops it while it sits there
    time.sleep(0.3)
    with pool.connect() as connection:
        assert connection.scalar(text("SELECT 1")) == 1
        assert int(connection.scalar(text("SELECT CONNECTION_ID()"))) != idle_id
    assert pings


def test_a_connection_back_a_moment_ago_is_used_without_a_ping(
    pool: Engine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 60)
    first = _connection_id(pool)
    for _ in range(5):
        assert _connection_id(pool) == first
    assert pings == []
