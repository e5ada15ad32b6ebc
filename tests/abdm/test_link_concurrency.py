"""Linking one member's reports at once (MariaDB, real commits, threads): "link now" on each of
their reports together asks the gateway for one link token and makes one care context per
report; none of the requests fails on a row another one created meanwhile."""

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from Abdm_module import service as abdm
from Abdm_module.models import AbdmCareContext, AbdmLinkToken, AbdmMessage, TokenState
from config import Settings
from Orders_module.models import OrderItem, OrderStatus
from Orders_module.service import get_order
from tests.support.factories.address import make_address
from tests.support.factories.cart import make_order
from tests.support.factories.category import make_category
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.factories.user import make_user
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency

REPORTS = 4


def test_link_now_on_every_report_of_a_member_at_once_asks_for_one_token(
    committing: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ABDM_ENABLED", True)
    with Session(committing) as session:
        user = make_user(session)
        member = make_member(session, user.id, abha_address="asha.rao@sbx")
        address = make_address(session, user.id)
        product = make_product(session, make_category(session))
        order = make_order(session, user.id, status=OrderStatus.REPORT_READY)
        items = [
            OrderItem(
                order_id=order.id,
                line_group=n,
                product_id=product.id,
                product_snapshot={},
                member_id=member.id,
                member_snapshot={},
                address_id=address.id,
                address_snapshot={},
                unit_price_paise=100,
                status=OrderStatus.REPORT_READY,
                report_version=1,
            )
            for n in range(REPORTS)
        ]
        session.add_all(items)
        session.commit()
        user_id, order_id, item_ids = user.id, order.id, [item.id for item in items]

    def link(item_id: int) -> str:
        with Session(committing) as session:
            context = abdm.link_now(session, user_id, get_order(session, order_id), item_id)
            session.commit()
            return context.status

    statuses = all_at_once([lambda item_id=item_id: link(item_id) for item_id in item_ids])

    assert statuses == ["pending"] * REPORTS
    with Session(committing) as session:
        tokens = session.scalars(select(AbdmLinkToken)).all()
        assert [token.state for token in tokens] == [TokenState.REQUESTED]
        contexts = session.scalars(select(AbdmCareContext)).all()
        assert sorted(context.order_item_id for context in contexts) == sorted(item_ids)
        calls = session.scalar(
            select(func.count(AbdmMessage.id)).where(AbdmMessage.kind == "generate-token")
        )
        assert calls == 1
