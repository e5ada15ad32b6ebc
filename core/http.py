"""The one HTTP client for calls to outside services (the SMS gateway, FCM).

Made once per process: `httpx.post` builds a client, and with it a TLS context, on every call
(about 20 ms of CPU each time); a shared client keeps one TLS context and pools connections.
Timeouts are given per call. httpx clients are safe to share between threads."""

from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def http_client() -> httpx.Client:
    return httpx.Client()
