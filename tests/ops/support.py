"""Real processes for operations tests: uvicorn replicas, a private redis-server, a cuttable TCP
proxy in front of the database, fresh databases, and a shopper set up over HTTP."""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, inspect, make_url, text
from sqlalchemy.orm import Session

from alembic_runner import upgrade_to_head
from core.redis import build_redis
from database import Base, build_engine
from database import engine as suite_engine
from Product_module.models import Product
from tests.fakes import razorpay as fake_razorpay
from tests.fakes.server import FakeResponse
from tests.support.factories.address import make_address
from tests.support.factories.cart import add_to_cart
from tests.support.factories.category import make_category
from tests.support.factories.consent import grant_all_required, link_consent, make_consent_type
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.http import free_port
from tests.support.login import LoggedIn, login_by_otp

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")

requires_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server binary for a private, stoppable Redis"
)


def wait_for(condition: Any, timeout: float, interval: float = 0.05) -> float:
    """Poll `condition()` until it is truthy; the seconds it took (AssertionError on timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# --- uvicorn replicas -------------------------------------------------------------------------


@dataclass
class Replica:
    """One `uvicorn main:app` process, its output in a log file."""

    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    started_at: float
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def http(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def wait_until_up(self, timeout: float = 90) -> float:
        """Seconds from process start until /health answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return time.monotonic() - self.started_at
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not come up:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def replica_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing leaks in from the test process's own settings."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_LEVEL": "INFO",
        "SCHEDULER_ENABLED": "false",
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "5",
        **extra,
    }


def start_replica(
    name: str, env: dict[str, str], tmp_path: Path, host: str = "127.0.0.1"
) -> Replica:
    """`uvicorn main:app` with the dockerfile's flags (uvicorn's own proxy-header rewriting off:
    the app alone decides what X-Forwarded-For means; uvicorn's access log off: the app writes
    its own)."""
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "main:app",
                "--host",
                host,
                "--port",
                str(port),
                "--no-proxy-headers",
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "20",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Replica(name, port, process, log_path, time.monotonic(), host)


def sms_env(webhook_url: str) -> dict[str, str]:
    return {"SMS_BACKEND": "webhook", "SMS_WEBHOOK_URL": webhook_url, "SMS_TIMEOUT_SECONDS": "5"}


def razorpay_env(base_url: str) -> dict[str, str]:
    return {
        "RAZORPAY_BASE_URL": base_url,
        "RAZORPAY_KEY_ID": fake_razorpay.KEY_ID,
        "RAZORPAY_KEY_SECRET": fake_razorpay.KEY_SECRET,
        "RAZORPAY_WEBHOOK_SECRET": fake_razorpay.WEBHOOK_SECRET,
        "RAZORPAY_TIMEOUT_SECONDS": "10",
    }


# --- databases --------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(tmp_path: Path, label: str) -> Iterator[str]:
    """The URL of a brand-new empty database of the suite's kind, dropped afterwards."""
    if suite_engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / f'{label}-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"{suite_engine.url.database}_{label}_{uuid.uuid4().hex[:8]}"
    server = create_engine(
        make_url(str(suite_engine.url)).set(database=None), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield suite_engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


def complete_schema(engine: Engine) -> list[str]:
    """Create the model tables the migrations do not (yet) build; the names created.

    The lead generates migrations after modules merge, so head may lag the models; once it
    covers them this creates nothing."""
    existing = set(inspect(engine).get_table_names())
    missing = [t.name for t in Base.metadata.sorted_tables if t.name not in existing]
    Base.metadata.create_all(engine)
    return missing


def engine_for(url: str) -> Engine:
    return build_engine(url)


@contextlib.contextmanager
def prepared_database(tmp_path: Path, label: str) -> Iterator[tuple[str, Engine]]:
    """A fresh database already migrated and complete, so a replica's jobs find every table from
    their first tick; its URL and an engine on it."""
    with fresh_database(tmp_path, label) as url:
        engine = engine_for(url)
        try:
            upgrade_to_head(engine)
            complete_schema(engine)
            yield url, engine
        finally:
            engine.dispose()


# --- a private redis-server -------------------------------------------------------------------


class RedisServer:
    """`redis-server` on a port of its own, which a test can kill and start again.

    `persistent` keeps an append-only file that survives a kill, like a managed Redis whose
    data outlives a restart (so stale cache entries come back with it)."""

    def __init__(self, workdir: Path, persistent: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.persistent = persistent
        self.process: subprocess.Popen | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return build_redis(self.url)  # the app's own client settings: no retry backoff

    def start(self) -> "RedisServer":
        assert REDIS_SERVER is not None
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--daemonize", "no", "--dir", str(self.workdir)]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir
        )

        def answers() -> bool:
            try:
                with self.client() as probe:
                    return bool(probe.ping())
            except redis.RedisError:
                return False

        wait_for(answers, 10)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


# --- a TCP proxy that can be cut --------------------------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> -> target. `cut()` refuses new connections and drops the open ones,
    like a database host going away; `stall()` keeps every connection open but lets no byte
    through, like a network partition; `restore()` serves normally again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.accepting = threading.Event()
        self.stalled = threading.Event()
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.accept_thread: threading.Thread | None = None

    def start(self) -> "TcpProxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.listener = listener
        self.accepting.set()
        self.accept_thread = threading.Thread(target=self._accept_loop, args=(listener,))
        self.accept_thread.daemon = True
        self.accept_thread.start()
        return self

    def _accept_loop(self, listener: socket.socket) -> None:
        while self.accepting.is_set():
            try:
                downstream, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            downstream.settimeout(None)
            if self.stalled.is_set():
                with self.lock:
                    self.connections.add(downstream)  # accepted, never answered
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                downstream.close()
                continue
            with self.lock:
                self.connections.update((downstream, upstream))
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if not self.stalled.is_set():
                    sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    def _close(self, sock: socket.socket) -> None:
        with self.lock:
            self.connections.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def cut(self) -> None:
        self.accepting.clear()
        if self.accept_thread is not None:
            self.accept_thread.join()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self._drop_all()

    def _drop_all(self) -> None:
        with self.lock:
            open_now = list(self.connections)
        for sock in open_now:
            self._close(sock)

    def stall(self) -> None:
        self.stalled.set()

    def restore(self) -> None:
        if self.stalled.is_set():
            # Connections that lost bytes are beyond repair: drop them, as a partition's end does.
            self._drop_all()
            self.stalled.clear()
        if self.listener is None:
            self.start()

    def stop(self) -> None:
        self.cut()


# --- a shopper, over HTTP against a replica ---------------------------------------------------


@dataclass
class Buyer:
    me: LoggedIn
    member_id: int
    address_id: int

    @property
    def headers(self) -> dict[str, str]:
        return self.me.headers


def make_catalogue(engine: Engine, price_paise: int = 2_000_00) -> int:
    """A product that needs one consent, committed; its id."""
    with Session(engine) as session:
        product = make_product(session, make_category(session), price_paise=price_paise)
        link_consent(session, product, make_consent_type(session))
        session.commit()
        return product.id


def ready_buyer(http: httpx.Client, engine: Engine, phone: str, product_id: int) -> Buyer:
    """Logged in through the replica, member/address/consents committed, product in the cart."""
    me = login_by_otp(http, phone)  # type: ignore[arg-type]
    with Session(engine, expire_on_commit=False) as session:
        member = make_member(session, me.user_id, relation="self")
        address = make_address(session, me.user_id)
        grant_all_required(session, me.user_id, member, session.get(Product, product_id))
        session.commit()
        buyer = Buyer(me, member.id, address.id)
    add_to_cart(http, buyer.headers, product_id, [(buyer.member_id, buyer.address_id)])  # type: ignore[arg-type]
    return buyer


def slow_razorpay_order(amount_paise: int, delay_seconds: float) -> FakeResponse:
    """A Razorpay order-create answer that takes `delay_seconds` to arrive."""
    order = {
        "id": "order_" + secrets.token_hex(7),
        "entity": "order",
        "amount": amount_paise,
        "amount_paid": 0,
        "amount_due": amount_paise,
        "currency": "INR",
        "status": "created",
        "attempts": 0,
        "created_at": int(time.time()),
    }
    return FakeResponse(200, order, delay_seconds=delay_seconds)
