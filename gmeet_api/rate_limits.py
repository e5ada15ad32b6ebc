"""Per-client limits on the public gmeet routes that cost an OAuth state or a Google call."""

from core.context import current_request
from core.rate_limit import hit_sliding_window

CONNECT_STARTS_PER_IP_PER_HOUR = 30
AVAILABILITY_CHECKS_PER_IP_PER_MINUTE = 60


def limit_connect_starts() -> None:
    """At most CONNECT_STARTS_PER_IP_PER_HOUR consent URLs (each stores a state) per client."""
    ip = current_request().ip or "unknown"
    hit_sliding_window(f"rl:gmeet:connect:{ip}", CONNECT_STARTS_PER_IP_PER_HOUR, 3600)


def limit_availability_checks() -> None:
    """Public and each answer costs a Google call: keep one client from spending the quota."""
    ip = current_request().ip or "unknown"
    hit_sliding_window(f"rl:gmeet:availability:{ip}", AVAILABILITY_CHECKS_PER_IP_PER_MINUTE, 60)
