"""The client address behind proxies, with a real uvicorn and a client on a non-loopback
address: per-IP limits and audit entries see the address the trusted proxy appended, never
the one the client wrote, and uvicorn does not rewrite it on its own."""

import socket
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from Audit_module.models import AuditLog
from tests.fakes.sms import FakeSmsGateway
from tests.ops.support import prepared_database, replica_env, sms_env, start_replica

IP_LIMIT = 5
PROXY_SEEN = "203.0.113.9"  # what the load balancer appends: the address it was reached from


def non_loopback_address() -> str | None:
    """This machine's address on its network interface (not 127.x), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


LOCAL = non_loopback_address()
requires_network_address = pytest.mark.skipif(
    LOCAL is None, reason="needs a non-loopback local address to bind the client to"
)


def sends(url: str, source: str, forwarded: list[str | None], first: int = 0) -> list[int]:
    """Send-otp once per entry (a fresh phone each time), from `source`, with that header."""
    transport = httpx.HTTPTransport(local_address=source)
    statuses = []
    with httpx.Client(base_url=url, transport=transport, timeout=30) as http:
        for n, header in enumerate(forwarded):
            headers = {"X-Forwarded-For": header} if header is not None else {}
            response = http.post(
                "/auth/send-otp", json={"phone": f"+9198765{first + n:05d}"}, headers=headers
            )
            statuses.append(response.status_code)
    return statuses


def otp_audit_ips(engine: Engine) -> set[str | None]:
    with engine.connect() as connection:
        return set(connection.scalars(select(AuditLog.ip).where(AuditLog.action.like("otp.%"))))


def spoofed(count: int) -> list[str | None]:
    """A different, client-written leftmost entry on every request."""
    return [f"10.{n}.{uuid.uuid4().int % 250}.1, {PROXY_SEEN}" for n in range(count)]


@requires_network_address
def test_behind_one_trusted_proxy_the_rightmost_entry_is_the_client(
    tmp_path: Path, sms_gateway: FakeSmsGateway
) -> None:
    with prepared_database(tmp_path, "proxy") as (database_url, engine):
        replica = start_replica(
            "proxied",
            replica_env(
                database_url,
                tmp_path,
                TRUST_PROXY_HEADERS="true",
                TRUSTED_PROXY_HOPS="1",
                OTP_MAX_REQUESTS_PER_IP_PER_HOUR=str(IP_LIMIT),
                **sms_env(sms_gateway.webhook_url),
            ),
            tmp_path,
            host=LOCAL,
        )
        try:
            replica.wait_until_up()
            statuses = sends(replica.url, LOCAL, spoofed(IP_LIMIT + 2))
            assert statuses == [200] * IP_LIMIT + [429, 429], statuses
            assert otp_audit_ips(engine) == {PROXY_SEEN}
        finally:
            replica.stop()
        assert "Traceback" not in replica.log()


@requires_network_address
def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says(
    tmp_path: Path, sms_gateway: FakeSmsGateway
) -> None:
    with prepared_database(tmp_path, "noproxy") as (database_url, engine):
        replica = start_replica(
            "direct",
            replica_env(
                database_url,
                tmp_path,
                OTP_MAX_REQUESTS_PER_IP_PER_HOUR=str(IP_LIMIT),
                **sms_env(sms_gateway.webhook_url),
            ),
            tmp_path,
            host="0.0.0.0",
        )
        try:
            replica.wait_until_up()
            url = f"http://{LOCAL}:{replica.port}"
            statuses = sends(url, LOCAL, spoofed(IP_LIMIT + 1))
            assert statuses == [200] * IP_LIMIT + [429], statuses
            assert otp_audit_ips(engine) == {LOCAL}
            # A loopback peer (a sidecar, a local health checker) is not trusted either:
            # uvicorn's own proxy-header handling, which trusts 127.0.0.1, is off.
            loopback = f"http://127.0.0.1:{replica.port}"
            assert sends(loopback, "127.0.0.1", ["198.51.100.4"], first=100) == [200]
            assert otp_audit_ips(engine) == {LOCAL, "127.0.0.1"}
        finally:
            replica.stop()
        assert "Traceback" not in replica.log()
