"""Prometheus metrics (`GET /metrics`, only from METRICS_ALLOWED_IPS): requests and latency per
route template and status, the database pool in use, job runs and failures."""

import ipaddress
from collections.abc import Callable

from fastapi import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from config import get_settings, split_csv
from core.context import current_request
from core.errors import ForbiddenError
from core.routing import APIRouter

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "job_runs_total",
    "Scheduled job runs, by job and outcome.",
    ["job", "outcome"],
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "notifications_total",
    "Notification deliveries by channel and outcome (sent, retried, failed).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
DB_POOL_IN_USE = Gauge(
    "db_pool_connections_in_use", "Database connections checked out of the pool.", registry=REGISTRY
)
# Requests that matched no route share one label, so probes of random paths can't grow the
# label set without bound.
UNMATCHED = "unmatched"

router = APIRouter(tags=["health"])


class MetricsForbidden(ForbiddenError):
    code = "metrics_forbidden"
    message = "Metrics are only served to the monitoring network."


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    label = route or UNMATCHED
    REQUESTS.labels(method, label, str(status)).inc()
    LATENCY.labels(method, label).observe(seconds)


def track_pool(checked_out: Callable[[], int]) -> None:
    """Report the pool's checked-out connections (the caller owns the engine)."""
    DB_POOL_IN_USE.set_function(checked_out)


def _allowed(ip: str | None) -> bool:
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    networks = split_csv(get_settings().METRICS_ALLOWED_IPS)
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics() -> Response:
    """Prometheus text format; only from METRICS_ALLOWED_IPS."""
    if not _allowed(current_request().ip):
        raise MetricsForbidden()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
