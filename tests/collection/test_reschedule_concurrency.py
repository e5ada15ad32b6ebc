"""Moves of one visit racing with real threads and commits (MariaDB): never more than
COLLECTION_MAX_RESCHEDULES, never a place leaked; and a move while the delivery job is sending
the visit's message neither waits for it nor rewrites what is being sent."""

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from Collection_module.models import Collection, SlotCount
from config import Settings
from Notification_module.models import Channel, DeliveryStatus, Notification, NotificationEvent
from tests.fakes.razorpay import FakeRazorpay
from tests.fakes.server import FakeResponse
from tests.fakes.sms import FakeSmsGateway
from tests.support.collection import TUESDAY, book, fix_clock, move
from tests.support.factories.address import make_location
from tests.support.http import new_client
from tests.support.notification import deliver, texts_to
from tests.support.orders import Shopper, checkout, make_shop, pay, ready_shopper
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency

# Eight different windows to move to, none of them the booked one (Tuesday 09:00).
TARGETS = [(date(2026, 12, day), start) for day in (9, 10, 11, 12) for start in ("07:00", "16:00")]


def booked_visit(committing: Engine, phone: str) -> tuple[Shopper, dict[str, Any], int]:
    """A paid order (committed) and its visit booked for Tuesday 09:00."""
    with Session(committing) as session:
        product_id = make_shop(session).single.id
        make_location(session)
        session.commit()
    client = new_client()
    buyer = ready_shopper(client, committing, phone, product_id)
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    paid = pay(client, buyer, placed.json())
    assert paid.status_code == 200, paid.text
    booked = book(client, buyer, paid.json(), TUESDAY, "09:00")
    assert booked.status_code == 201, booked.text
    return buyer, paid.json(), booked.json()["id"]


def collection_sms(session: Session) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(
                Notification.event == NotificationEvent.COLLECTION_SCHEDULED,
                Notification.channel == Channel.SMS,
            )
            .order_by(Notification.id)
        )
    )


def test_eight_racing_moves_of_one_visit_make_three_and_leak_no_place(
    committing: Engine,
    razorpay: FakeRazorpay,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fix_clock(monkeypatch)
    buyer, order, visit_id = booked_visit(committing, "+919876593001")

    answers = all_at_once(
        [
            lambda day=day, start=start: move(new_client(), buyer, order, visit_id, day, start)
            for day, start in TARGETS
        ]
    )

    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] * 3 + [409] * 5, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {
        "reschedule_limit_reached"
    }
    with Session(committing) as session:
        visit = session.get(Collection, visit_id)
        assert visit is not None and visit.reschedules == 3
        taken = {(c.day, c.start): c.booked for c in session.scalars(select(SlotCount))}
        assert sum(taken.values()) == 1
        assert taken[(visit.day, visit.start)] == 1
        # The booking and its three moves: one SMS waiting, about the window the visit is in.
        [waiting] = collection_sms(session)
        assert waiting.status == DeliveryStatus.PENDING
        assert visit.day.strftime("%d %b %Y") in waiting.body


def test_a_move_while_the_visits_sms_is_being_sent_neither_waits_nor_rewrites_it(
    committing: Engine,
    razorpay: FakeRazorpay,
    sms_gateway: FakeSmsGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fix_clock(monkeypatch)
    phone = "+919876593002"
    buyer, order, visit_id = booked_visit(committing, phone)
    with Session(committing) as session:
        for row in session.scalars(
            select(Notification).where(Notification.event == NotificationEvent.ORDER_PAID)
        ):
            row.status = DeliveryStatus.SENT  # only the booking's SMS is left to send
        session.commit()
    # The gateway takes its time over the booking's SMS; the job holds that row meanwhile.
    sms_gateway.fail_next.append(FakeResponse(200, {"status": "queued"}, delay_seconds=3))
    sent_before = len(sms_gateway.requests)
    job = threading.Thread(target=deliver)
    job.start()
    for _ in range(200):
        if len(sms_gateway.requests) > sent_before:
            break
        threading.Event().wait(0.02)
    assert len(sms_gateway.requests) > sent_before, "the job never started sending"

    moved = move(new_client(), buyer, order, visit_id, date(2026, 12, 10), "16:00")

    assert moved.status_code == 200, moved.text
    assert job.is_alive()  # the move did not wait for the row the job holds
    job.join()
    with Session(committing) as session:
        rows = [(row.status, row.body) for row in collection_sms(session)]
    assert [status for status, _ in rows] == [DeliveryStatus.SENT, DeliveryStatus.PENDING]
    assert "08 Dec 2026, 09:00-11:00" in rows[0][1] and "10 Dec 2026, 16:00-18:00" in rows[1][1]
    assert deliver() == 1
    texts = [text for text in texts_to(sms_gateway, phone) if "collection for order" in text]
    assert len(texts) == 2
    assert "08 Dec 2026" in texts[0] and "10 Dec 2026, 16:00-18:00" in texts[1]
