"""Calls released together in threads, for races on MariaDB; a transaction seen waiting for
a lock."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together by a barrier; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def connection_id(session: Session) -> int:
    """The server's id of the connection `session` runs on (MariaDB `CONNECTION_ID()`)."""
    return int(session.scalar(text("SELECT CONNECTION_ID()")) or 0)


def wait_until_blocked(engine: Engine, connection: int, timeout: float = 4.0) -> None:
    """Return once the transaction on `connection` (a `connection_id`) waits for a row lock
    (MariaDB's INNODB_TRX says `LOCK WAIT`); fail after `timeout` seconds (before the lock
    wait itself runs out). Polled every 0.12 s: the server refreshes that table only when it
    has not been read for 0.1 s, so faster polling would keep reading a stale copy."""
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT trx_state FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = :id"
    )
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            if watcher.execute(query, {"id": connection}).scalar() == "LOCK WAIT":
                return
            watcher.rollback()
            time.sleep(0.12)
    raise AssertionError(f"connection {connection} never waited for a lock")
