"""One hook mechanism (core/hooks.py), wired in one place (main.wire_hooks): the hooks that
must have handlers have them, each with the handler that keeps its promise, and a required hook
with none refuses to run instead of silently doing nothing."""

import pytest
from sqlalchemy.orm import Session

from Cart_module.service import member_in_cart
from Collection_module.service import release_for_cancelled_order
from core.hooks import Hook, unwired
from Invoice_module.service import issue_credit_note, issue_invoice
from Login_module.Device.service import session_ended
from main import wire_hooks
from Member_module.service import member_in_use
from Notification_module.service import remove_devices_of_session
from Orders_module.cancellation import order_ended
from Orders_module.checkout import order_paid
from Orders_module.payments import refund_processed
from Orders_module.service import member_on_unfinished_order


def test_every_required_hook_has_its_handlers() -> None:
    assert unwired() == []
    assert issue_invoice in order_paid.handlers  # every paid order gets its invoice
    assert issue_credit_note in refund_processed.handlers
    assert release_for_cancelled_order in order_ended.handlers  # capacity back on any end
    assert remove_devices_of_session in session_ended.handlers
    assert {member_in_cart, member_on_unfinished_order} <= set(member_in_use.handlers)
    for hook in (order_paid, refund_processed, order_ended, member_in_use):
        assert hook.required


def test_wiring_twice_connects_each_handler_once() -> None:
    before = {hook.name: list(hook.handlers) for hook in (order_paid, order_ended, member_in_use)}
    wire_hooks()
    after = {hook.name: list(hook.handlers) for hook in (order_paid, order_ended, member_in_use)}
    assert after == before


def test_a_required_hook_without_a_handler_is_named_and_refuses_to_run(
    monkeypatch: pytest.MonkeyPatch, db: Session
) -> None:
    monkeypatch.setattr(order_ended, "handlers", [])
    assert unwired() == ["order_ended"]
    with pytest.raises(RuntimeError, match="order_ended"):
        order_ended(db, None)  # type: ignore[arg-type]


def test_handlers_run_in_order_and_their_answers_are_returned() -> None:
    hook: Hook[[int]] = Hook("test_only")
    hook.connect(lambda n: n + 1)
    hook.connect(lambda n: n * 10)
    assert hook.results(2) == [3, 20]
    assert Hook("test_optional").results() == []  # an optional hook may have none
