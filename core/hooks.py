"""Hooks: how a module lets the modules above it act on its events, in the same transaction,
without importing them (the layers only point down).

A hook is declared next to its event (`order_paid = Hook[[Session, Order]]("order_paid",
required=True)` in Orders_module) and called there (`order_paid(db, order)`). Its handlers are
connected in one place, `main.wire_hooks()`, at start-up next to the background jobs: nothing
connects itself as a side effect of being imported. A `required` hook refuses to run with no
handler (an order paid with no invoice would be a silent loss), and `unwired()` names the
required hooks that have none."""

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")

_ALL: list["Hook"] = []


class Hook(Generic[P]):
    def __init__(self, name: str, *, required: bool = False) -> None:
        self.name = name
        self.required = required
        self.handlers: list[Callable[P, object]] = []
        _ALL.append(self)

    def connect(self, handler: Callable[P, object]) -> None:
        """Add `handler` (once: connecting it again changes nothing)."""
        if handler not in self.handlers:
            self.handlers.append(handler)

    def results(self, *args: P.args, **kwargs: P.kwargs) -> list[object]:
        """Run every handler in the order connected; what each returned."""
        if self.required and not self.handlers:
            raise RuntimeError(f"hook {self.name!r} has no handler: call main.wire_hooks()")
        return [handler(*args, **kwargs) for handler in self.handlers]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        self.results(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, handlers={len(self.handlers)})"


def unwired() -> list[str]:
    """The required hooks that have no handler."""
    return [hook.name for hook in _ALL if hook.required and not hook.handlers]
