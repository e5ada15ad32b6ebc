"""`Idempotency-Key` in-flight claims in Redis: a second copy while the first runs gets 409."""

from core.redis import get_redis

CLAIM_SECONDS = 120


def _key(user_id: int, idempotency_key: str) -> str:
    return f"idem:orders:{user_id}:{idempotency_key}"


def claim(user_id: int, idempotency_key: str) -> bool:
    return bool(get_redis().set(_key(user_id, idempotency_key), "1", nx=True, ex=CLAIM_SECONDS))


def release(user_id: int, idempotency_key: str) -> None:
    get_redis().delete(_key(user_id, idempotency_key))
