"""Uploads racing for one member's report, with real threads and real commits on MariaDB."""

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from core.storage import forget_storage
from Orders_module.models import OrderItem, OrderStatus, OrderStatusHistory
from Report_module.models import Report
from tests.fakes.razorpay import FakeRazorpay
from tests.support.http import new_client
from tests.support.login import ADMIN_PHONE, login
from tests.support.orders import checkout, make_shop, pay, ready_shopper
from tests.support.races import all_at_once
from tests.support.report import TO_THE_LAB, move_item, pdf, upload

pytestmark = pytest.mark.concurrency


def test_racing_uploads_get_consecutive_versions_and_leave_no_orphan_file(
    committing: Engine,
    razorpay: FakeRazorpay,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    root = tmp_path / "private"
    monkeypatch.setattr(settings, "PRIVATE_STORAGE_ROOT", str(root))
    forget_storage()
    with Session(committing) as session:
        product_id = make_shop(session).single.id
        session.commit()
    client = new_client()
    buyer = ready_shopper(client, committing, "+919876572001", product_id)
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    assert pay(client, buyer, placed.json()).status_code == 200
    order_id = placed.json()["order"]["id"]
    [item_id] = [item["id"] for item in placed.json()["order"]["items"]]
    admin = login(client, ADMIN_PHONE)
    for status in TO_THE_LAB:
        assert move_item(client, admin, order_id, item_id, status).status_code == 200
    contents = [pdf(f"reading {n}") for n in range(6)]

    answers = all_at_once(
        [
            lambda c=content: upload(new_client(), admin, order_id, item_id, c)
            for content in contents
        ]
    )

    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    assert sorted(a.json()["version"] for a in answers) == [1, 2, 3, 4, 5, 6]
    with Session(committing) as session:
        reports = session.scalars(select(Report).order_by(Report.version)).all()
        assert [r.version for r in reports] == [1, 2, 3, 4, 5, 6]
        assert {r.sha256 for r in reports} == {hashlib.sha256(c).hexdigest() for c in contents}
        item = session.get(OrderItem, item_id)
        assert item is not None
        assert (item.status, item.report_version) == (OrderStatus.REPORT_READY, 6)
        moves = session.scalars(
            select(OrderStatusHistory.status).where(OrderStatusHistory.order_item_id == item_id)
        ).all()
        assert moves.count(OrderStatus.REPORT_READY) == 1
        keys = {r.storage_key for r in reports}
    stored = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert stored == keys
    forget_storage()
