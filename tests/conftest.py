"""Test harness: MariaDB (TEST_DATABASE_URL) or a temporary SQLite file; real Redis
(TEST_REDIS_URL) or fakeredis; every test inside a transaction that is rolled back."""

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
_TMP = Path(tempfile.mkdtemp(prefix="nucleotide-tests-"))

# Settings are read once, so the environment is fixed before any app module is imported.
os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{_TMP / 'test.db'}",
        "SCHEDULER_ENABLED": "false",
        "MEDIA_ROOT": str(_TMP / "media"),
        "PRIVATE_STORAGE_ROOT": str(_TMP / "private"),
        "ADMIN_PHONES": "+919000000001",
        "OTP_TEST_NUMBERS": "+919999900001:123456",
        "ALLOWED_ORIGINS": "https://app.nucleotide.example",
        "LOG_LEVEL": "WARNING",
        # Exact list totals in tests; test_admin_list_totals.py checks the cached ones.
        "ADMIN_LIST_TOTAL_SECONDS": "0",
    }
)
os.environ.pop("REDIS_URL", None)

# The tests that start real processes (uvicorn replicas, Redis servers, the app refusing to
# start) mostly wait on them: .ci/run runs them beside its MariaDB pass, in a process and on a
# database of their own, and that pass (PROCESS_TESTS=beside) leaves them out.
PROCESS_TESTS = ["ops", "core/test_startup.py", "core/test_config.py"]
collect_ignore = PROCESS_TESTS if os.environ.get("PROCESS_TESTS") == "beside" else []

import fakeredis  # noqa: E402
import redis  # noqa: E402
from anyio.from_thread import start_blocking_portal  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import Engine, create_engine, delete, event, make_url, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import models_registry  # noqa: E402, F401
from Address_module.models import Address  # noqa: E402
from Audit_module.models import AuditLog  # noqa: E402
from config import Settings, get_settings  # noqa: E402
from core.health import forget_checks  # noqa: E402
from core.redis import set_redis  # noqa: E402
from core.response_cache import catalogue_cache  # noqa: E402
from database import Base, SessionLocal, build_engine, engine  # noqa: E402
from Login_module.models import DeviceSession, User  # noqa: E402
from main import app  # noqa: E402
from Member_module.models import Member  # noqa: E402
from tests.fakes import razorpay as fake_razorpay  # noqa: E402
from tests.fakes import sms as fake_sms  # noqa: E402
from tests.fakes.fcm import fcm_server, fcm_settings  # noqa: E402, F401
from tests.fakes.google_setup import clock, google, google_server  # noqa: E402, F401
from tests.fakes.sms import FakeSmsGateway  # noqa: E402
from tests.fakes.smtp import smtp_server, smtp_settings  # noqa: E402, F401
from tests.support.database import IS_MARIADB, drop_everything, empty_every_table  # noqa: E402
from tests.support.documented_errors import documented_error_codes, documented_errors_only  # noqa: E402, F401
from tests.support.factories.user import make_user  # noqa: E402
from tests.support.login import ADMIN_PHONE, LoggedIn, login  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> Iterator[Engine]:
    """The schema the tests run on; tests/core/test_migrations.py proves the migrations build
    exactly this schema, so building it from the models here is equivalent and faster."""
    drop_everything(engine)
    Base.metadata.create_all(engine)
    yield engine


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def sms_gateway() -> Iterator[FakeSmsGateway]:
    gateway = FakeSmsGateway().start()
    fake_sms.ACTIVE = gateway
    yield gateway
    fake_sms.ACTIVE = None
    gateway.stop()


@pytest.fixture(autouse=True)
def sms_backend(sms_gateway: FakeSmsGateway, monkeypatch: pytest.MonkeyPatch) -> FakeSmsGateway:
    """Codes go to the local SMS gateway, where the login helper reads them like a phone would."""
    settings = get_settings()
    monkeypatch.setattr(settings, "SMS_BACKEND", "webhook")
    monkeypatch.setattr(settings, "SMS_WEBHOOK_URL", sms_gateway.webhook_url)
    sms_gateway.reset()
    return sms_gateway


@pytest.fixture(scope="session")
def razorpay_server() -> Iterator[fake_razorpay.FakeRazorpay]:
    server = fake_razorpay.FakeRazorpay().start()
    yield server
    server.stop()


@pytest.fixture
def razorpay(
    razorpay_server: fake_razorpay.FakeRazorpay, monkeypatch: pytest.MonkeyPatch
) -> fake_razorpay.FakeRazorpay:
    """The real Razorpay SDK pointed at the local fake, with its keys."""
    settings = get_settings()
    monkeypatch.setattr(settings, "RAZORPAY_BASE_URL", razorpay_server.url)
    monkeypatch.setattr(settings, "RAZORPAY_KEY_ID", fake_razorpay.KEY_ID)
    monkeypatch.setattr(settings, "RAZORPAY_KEY_SECRET", SecretStr(fake_razorpay.KEY_SECRET))
    monkeypatch.setattr(
        settings, "RAZORPAY_WEBHOOK_SECRET", SecretStr(fake_razorpay.WEBHOOK_SECRET)
    )
    monkeypatch.setattr(settings, "RAZORPAY_TIMEOUT_SECONDS", 2.0)
    razorpay_server.reset()
    return razorpay_server


@pytest.fixture(autouse=True)
def redis_client() -> Iterator[redis.Redis]:
    if TEST_REDIS_URL:
        client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
        client.flushdb()
    else:
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    set_redis(client)
    catalogue_cache.reset()  # this test's Redis, and no answers cached by an earlier test
    forget_checks()  # /health checks this test's dependencies, not an earlier test's
    yield client
    set_redis(None)
    if TEST_REDIS_URL:
        client.flushdb()
        client.close()


@pytest.fixture
def db(migrated_database: Engine) -> Iterator[Session]:
    """A session inside an outer transaction; request sessions join it through savepoints."""
    connection = migrated_database.connect()
    transaction = connection.begin()
    SessionLocal.configure(bind=connection, join_transaction_mode="create_savepoint")
    session = SessionLocal()
    # Rows a test writes through this session are seen by its requests but never committed, so
    # the catalogue cache would not hear of them: every flush here counts as a catalogue change.
    event.listen(session, "after_flush", lambda _session, _flush: catalogue_cache.bump())
    try:
        yield session
    finally:
        session.close()
        SessionLocal.configure(
            bind=migrated_database, join_transaction_mode="conditional_savepoint"
        )
        if transaction.is_active:
            transaction.rollback()
        connection.close()


@pytest.fixture
def client(db: Session) -> Iterator[TestClient]:
    """The app in-process, without its lifespan (the harness built the database). Its requests
    run on one event loop for the whole test, as in a server: a fresh loop per request (the
    TestClient's default outside `with`) starts a thread for each."""
    with_client = TestClient(app, raise_server_exceptions=False)
    with start_blocking_portal(**with_client.async_backend) as portal:
        with_client.portal = portal
        yield with_client
        with_client.portal = None
    with_client.close()


@pytest.fixture
def admin(client: TestClient) -> LoggedIn:
    """The admin (ADMIN_PHONE is in ADMIN_PHONES), logged in."""
    return login(client, ADMIN_PHONE)


@pytest.fixture
def customer(client: TestClient) -> LoggedIn:
    """A customer, logged in."""
    return login(client, "+919876500001")


@pytest.fixture
def empty_engine() -> Iterator[Engine]:
    """A brand-new empty database of the same kind as the suite's."""
    if engine.dialect.name == "sqlite":
        fresh = build_engine(f"sqlite:///{_TMP / f'migrations-{uuid.uuid4().hex}.db'}")
        yield fresh
        fresh.dispose()
        return
    name = f"{engine.url.database}_mig_{uuid.uuid4().hex[:8]}"
    server = create_engine(
        make_url(str(engine.url)).set(database=None), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    fresh = build_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield fresh
    finally:
        fresh.dispose()
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE `{name}`"))
        server.dispose()


@pytest.fixture
def committing() -> Iterator[Engine]:
    """For races: requests commit for real (no rollback fixture); every table is emptied after.

    Don't combine with `db`/`client`: their open transaction would block the clean-up.
    """
    if not IS_MARIADB:
        pytest.skip("needs real commits and row locks: set TEST_DATABASE_URL (MariaDB)")
    yield engine
    empty_every_table(engine)


@pytest.fixture
def committed_user() -> Iterator[int]:
    """The id of a user committed for real, for racing sessions and threads that cannot see a
    test transaction; afterwards the user is deleted with its sessions, members, addresses and
    the audit rows it wrote."""
    with Session(engine) as session:
        user_id = make_user(session).id
        session.commit()
    yield user_id
    with Session(engine) as session:
        session.execute(delete(AuditLog).where(AuditLog.actor_user_id == user_id))
        session.execute(delete(DeviceSession).where(DeviceSession.user_id == user_id))
        session.execute(delete(Member).where(Member.user_id == user_id))
        session.execute(delete(Address).where(Address.user_id == user_id))
        session.execute(delete(User).where(User.id == user_id))
        session.commit()
