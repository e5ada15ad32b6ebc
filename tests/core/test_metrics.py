"""GET /metrics: Prometheus text, only for the monitoring network."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from core.scheduler import run_once_per_tick
from main import app
from tests.support.http import assert_error


@pytest.fixture
def monitor(db: Session) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 41000))


def test_metrics_are_refused_outside_the_allowed_addresses(client: TestClient) -> None:
    assert_error(client.get("/metrics"), 403, "metrics_forbidden")


def test_metrics_count_requests_by_route_template_and_status(monitor: TestClient) -> None:
    assert monitor.get("/products/no-such-product").status_code == 404
    monitor.get("/no/such/path")
    response = monitor.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'http_requests_total{method="GET",route="/products/{product_ref}",status="404"}' in text
    assert 'route="unmatched"' in text and "/no/such/path" not in text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",route=' in text
    assert "db_pool_connections_in_use" in text


def test_metrics_count_job_runs_and_failures(monitor: TestClient) -> None:
    def fails() -> None:
        raise RuntimeError("boom")

    run_once_per_tick("metrics_probe_ok", 3600, lambda: 1)
    run_once_per_tick("metrics_probe_failing", 3600, fails)
    text = monitor.get("/metrics").text
    assert 'job_runs_total{job="metrics_probe_ok",outcome="ok"}' in text
    assert 'job_runs_total{job="metrics_probe_failing",outcome="failed"}' in text


def test_allowed_addresses_may_be_networks(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, db: Session
) -> None:
    monkeypatch.setattr(settings, "METRICS_ALLOWED_IPS", "10.20.0.0/16")
    inside = TestClient(app, raise_server_exceptions=False, client=("10.20.3.4", 41000))
    outside = TestClient(app, raise_server_exceptions=False, client=("10.21.3.4", 41000))
    assert inside.get("/metrics").status_code == 200
    assert_error(outside.get("/metrics"), 403, "metrics_forbidden")
