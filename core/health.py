"""Liveness, readiness and the service index."""

import asyncio
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as ProbeTimeout
from typing import Literal, TypedDict

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from config import APP_NAME, APP_VERSION
from core.errors import ServiceUnavailableError
from core.openapi import RETRY_AFTER
from core.redis import get_redis
from core.routing import APIRouter
from database import engine

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, Literal["ok", "unavailable"]]


class HealthReport(TypedDict):
    """What /health and /health/ready answer (HealthOut)."""

    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, str]


class ServiceIndex(TypedDict):
    name: str
    version: str
    modules: list[str]
    docs: str


# A partitioned database holds a probe for up to DB_READ_TIMEOUT + DB_CONNECT_TIMEOUT; the
# liveness answer must not wait that long (App Runner would restart healthy replicas), so it
# waits this long and reports the database unavailable. Callers share one probe in flight.
DATABASE_PROBE_SECONDS = 2.0
_probe_runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-probe")
_probe_lock = threading.Lock()
_probe: "Future[str] | None" = None


def _ping_database() -> str:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception:
        return "unavailable"


def _check_database() -> str:
    global _probe
    with _probe_lock:
        if _probe is None or _probe.done():
            _probe = _probe_runner.submit(_ping_database)
        probe = _probe
    try:
        return probe.result(timeout=DATABASE_PROBE_SECONDS)
    except ProbeTimeout:
        return "unavailable"


def _check_redis() -> str:
    try:
        get_redis().ping()
        return "ok"
    except Exception:
        return "unavailable"


def _checks() -> HealthReport:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    return {"status": "ok" if healthy else "degraded", "version": APP_VERSION, "checks": checks}


# Probers (App Runner, load balancers, monitors) call often; one real check a second per process
# is as current as any of them can use, and leaves the rest of the calls on the event loop.
CHECKS_FRESH_SECONDS = 1.0
_last_checks: tuple[float, HealthReport] | None = None


def _fresh_checks() -> HealthReport | None:
    last = _last_checks
    if last is not None and time.monotonic() - last[0] < CHECKS_FRESH_SECONDS:
        return last[1]
    return None


def _run_checks() -> HealthReport:
    global _last_checks
    body = _checks()
    _last_checks = (time.monotonic(), body)
    return body


def forget_checks() -> None:
    """Check again on the next call (tests that take a dependency away)."""
    global _last_checks
    _last_checks = None


# The check in flight, shared: when the last one expires, the calls arriving together wait
# for one new check instead of each running its own (a herd of database and Redis pings).
_in_flight: "tuple[asyncio.AbstractEventLoop, asyncio.Future[HealthReport]] | None" = None


async def current_checks() -> HealthReport:
    global _in_flight
    fresh = _fresh_checks()
    if fresh is not None:
        return fresh
    loop = asyncio.get_running_loop()
    if _in_flight is None or _in_flight[0] is not loop or _in_flight[1].done():
        _in_flight = (loop, asyncio.ensure_future(run_in_threadpool(_run_checks)))
    return await asyncio.shield(_in_flight[1])


@router.get("/health", response_model=HealthOut)
async def health() -> HealthReport:
    """Liveness: always 200; `degraded` when a dependency is down."""
    return await current_checks()


@router.get(
    "/health/ready",
    response_model=HealthOut,
    responses={
        503: {
            "model": HealthOut,
            "description": "The database or Redis is down.",
            "headers": RETRY_AFTER,
        }
    },
)
async def ready() -> JSONResponse:
    """Readiness: 503 while the database or Redis is down."""
    body = await current_checks()
    if body["status"] == "ok":
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers=ServiceUnavailableError.headers)


# Documented as a free-form object, as it always was.
@router.get("/", response_model=dict)
def index(request: Request) -> ServiceIndex:
    """Service name, version and modules."""
    paths = request.app.openapi().get("paths", {})
    tags = {tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])}
    return {"name": APP_NAME, "version": APP_VERSION, "modules": sorted(tags), "docs": "/docs"}
