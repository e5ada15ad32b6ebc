"""Sliding-window and cooldown limits kept in Redis, so they hold across replicas."""

import time
import uuid

from core.errors import RateLimitedError
from core.redis import get_redis


def hit_sliding_window(key: str, limit: int, window_seconds: int) -> None:
    """Count one hit in the rolling window; over the limit -> RateLimitedError (hit not kept)."""
    client = get_redis()
    now = time.time()
    member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
    pipe = client.pipeline(transaction=True)
    pipe.zremrangebyscore(key, 0, now - window_seconds)
    pipe.zadd(key, {member: now})
    pipe.zcard(key)
    pipe.expire(key, window_seconds)
    _, _, count, _ = pipe.execute()
    if count > limit:
        client.zrem(key, member)
        oldest = client.zrange(key, 0, 0, withscores=True)
        oldest_at = float(oldest[0][1]) if oldest else now
        retry_after = oldest_at + window_seconds - now
        raise RateLimitedError(int(retry_after) + 1)


def hit_cooldown(key: str, seconds: int) -> None:
    """At most one hit per `seconds`; a second one inside it -> RateLimitedError."""
    if seconds <= 0:
        return
    client = get_redis()
    if not client.set(key, "1", nx=True, ex=seconds):
        ttl = client.ttl(key)
        raise RateLimitedError(ttl if ttl and ttl > 0 else seconds)


HOUR = 3600


def claim_hourly(name: str, limit: int) -> str:
    """Count one against `limit` for this clock hour under `name` (all replicas): the counter's
    key, for `release_hourly`. Over the limit -> RateLimitedError until the next hour (the count
    not kept)."""
    now = time.time()
    key = f"{name}:{int(now // HOUR)}"
    client = get_redis()
    pipe = client.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, 2 * HOUR)
    count, _ = pipe.execute()
    if count <= limit:
        return key
    client.decr(key)
    raise RateLimitedError(int(HOUR - now % HOUR) + 1)


def release_hourly(key: str) -> None:
    """Give back a unit `claim_hourly` counted (the thing it paid for did not happen)."""
    get_redis().decr(key)
