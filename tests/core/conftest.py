"""Fixtures of the request-machinery tests."""

import functools
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest


@pytest.fixture
def worker_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions run in the threadpool, in order."""
    calls: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        called = func.func if isinstance(func, functools.partial) else func
        calls.append(getattr(called, "__name__", repr(called)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return calls
