"""The one Redis client: `REDIS_URL`, or an in-process fakeredis server in development."""

import threading

import redis

from config import get_settings

_lock = threading.Lock()
_client: redis.Redis | None = None


def build_redis(url: str | None) -> redis.Redis:
    settings = get_settings()
    if not url:
        if settings.ENVIRONMENT == "production":
            raise RuntimeError("REDIS_URL is required in production")
        import fakeredis  # development and tests only: never loaded when REDIS_URL is set

        return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
        retry_on_timeout=False,
    )


def get_redis() -> redis.Redis:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = build_redis(get_settings().REDIS_URL)
    return _client


def set_redis(client: redis.Redis | None) -> None:
    """Swap the client (tests, or a re-configured process)."""
    global _client
    _client = client
