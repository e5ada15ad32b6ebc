"""The typed redemption status: stored as its plain string, and nothing else gets in."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from Cart_module.models import CouponRedemption, RedemptionStatus
from tests.support.factories.cart import make_coupon, make_redemption
from tests.support.factories.user import make_user


def test_a_redemption_status_is_stored_as_its_plain_value_and_read_back_as_the_enum(
    db: Session,
) -> None:
    user = make_user(db)
    make_redemption(db, make_coupon(db), user.id, status=RedemptionStatus.RELEASED)
    stored = db.scalar(text("SELECT status FROM coupon_redemptions"))
    assert (type(stored), stored) == (str, "released")
    db.expire_all()
    status = db.scalar(select(CouponRedemption.status))
    assert status is RedemptionStatus.RELEASED


def test_an_unknown_redemption_status_is_refused_before_it_reaches_the_table(
    db: Session,
) -> None:
    redemption = make_redemption(db, make_coupon(db), make_user(db).id)
    with pytest.raises(StatementError, match="refunded"), db.begin_nested():
        redemption.status = "refunded"  # type: ignore[assignment]
        db.flush()
