"""Coupons on the cart (HTTP) and the hold/use/release rules checkout relies on (service)."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from Cart_module.checkout import hold_coupon, mark_coupon_used, release_coupon_hold
from Cart_module.coupon_rules import CouponLineData, coupon_discount
from Cart_module.errors import (
    CouponExpired,
    CouponInvalid,
    CouponMinOrder,
    CouponNotApplicable,
    CouponUsageExceeded,
)
from Cart_module.models import Coupon, CouponRedemption, RedemptionStatus
from core.clock import utcnow
from database import engine
from Login_module.models import User
from Orders_module.models import Order
from tests.support.database import requires_mariadb
from tests.support.factories.cart import add_to_cart, make_coupon, make_order, make_redemption
from tests.support.factories.category import make_category
from tests.support.factories.product import make_product
from tests.support.factories.user import make_user
from tests.support.http import assert_error

PRICE = 499_900


def apply(client, buyer, code):
    return client.post("/cart/coupon", headers=buyer.headers, json={"code": code})


def audit_rows(db, action):
    db.expire_all()
    return db.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


@pytest.fixture
def in_cart(client, me, product):
    """My cart holds the Rs 4,999 product once."""
    return add_to_cart(client, me.headers, product.id, [me.choice])


# --- applying ----------------------------------------------------------------------------------


def test_a_percent_coupon_takes_its_share_off(client, db, me, in_cart):
    coupon = make_coupon(db, code="TENOFF", percent_off=10)
    response = apply(client, me, "TENOFF")
    assert response.status_code == 200, response.text
    cart = response.json()
    assert cart["coupon"] == {"code": "TENOFF", "discount_paise": 49_990}
    assert (cart["subtotal_paise"], cart["discount_paise"], cart["total_paise"]) == (
        PRICE,
        49_990,
        PRICE - 49_990,
    )
    assert client.get("/cart", headers=me.headers).json() == cart
    [entry] = audit_rows(db, "cart.coupon_applied")
    assert entry.actor_user_id == me.user_id
    assert entry.changes == {"code": {"old": None, "new": "TENOFF"}}
    assert coupon.id


def test_codes_are_case_insensitive_and_trimmed(client, db, me, in_cart):
    make_coupon(db, code="WELCOME-25", percent_off=25)
    response = apply(client, me, "  welcome-25 ")
    assert response.status_code == 200, response.text
    assert response.json()["coupon"]["code"] == "WELCOME-25"


def test_percent_discounts_round_down_and_obey_their_cap(client, db, me, product, in_cart):
    make_coupon(db, code="BIGPCT", percent_off=50, max_discount_paise=100_000)
    cart = apply(client, me, "BIGPCT").json()
    assert cart["discount_paise"] == 100_000
    assert cart["total_paise"] == PRICE - 100_000

    make_coupon(db, code="ODD", percent_off=33)
    assert apply(client, me, "ODD").json()["discount_paise"] == PRICE * 33 // 100


def test_a_flat_coupon_never_goes_above_the_subtotal(client, db, me, in_cart):
    make_coupon(db, code="FLAT500", discount_type="flat", amount_off_paise=50_000)
    assert apply(client, me, "FLAT500").json()["discount_paise"] == 50_000

    make_coupon(db, code="HUGE", discount_type="flat", amount_off_paise=10_000_000)
    cart = apply(client, me, "HUGE").json()
    assert cart["discount_paise"] == PRICE
    assert cart["total_paise"] == 0


def test_a_hundred_percent_coupon_makes_the_cart_free(client, db, me, in_cart):
    make_coupon(db, code="FREE", percent_off=100)
    assert apply(client, me, "FREE").json()["total_paise"] == 0


def test_unknown_and_inactive_codes_are_refused_alike(client, db, me, in_cart):
    make_coupon(db, code="RETIRED", active=False)
    make_coupon(db, code="SECRET-VIP")
    unknown = assert_error(apply(client, me, "NOPE"), 400, "coupon_invalid")
    inactive = assert_error(apply(client, me, "retired"), 400, "coupon_invalid")
    assert unknown["message"] == inactive["message"]
    for body in (unknown, inactive):
        assert "SECRET" not in body["message"].upper()
        assert "RETIRED" not in body["message"].upper()


def test_a_blank_or_overlong_code_is_a_validation_error(client, me, in_cart):
    assert_error(apply(client, me, "   "), 422, "validation_error")
    assert_error(apply(client, me, "X" * 65), 422, "validation_error")


def test_a_coupon_outside_its_window_has_expired(client, db, me, in_cart):
    now = utcnow()
    make_coupon(db, code="OLD", valid_to=now - timedelta(minutes=1))
    make_coupon(db, code="SOON", valid_from=now + timedelta(days=1))
    make_coupon(
        db, code="NOW", valid_from=now - timedelta(days=1), valid_to=now + timedelta(days=1)
    )
    assert_error(apply(client, me, "OLD"), 400, "coupon_expired")
    assert_error(apply(client, me, "SOON"), 400, "coupon_expired")
    assert apply(client, me, "NOW").status_code == 200


def test_the_minimum_order_counts(client, db, me, category, in_cart):
    make_coupon(db, code="MIN6K", min_order_paise=600_000)
    body = assert_error(apply(client, me, "MIN6K"), 400, "coupon_min_order")
    assert "MIN6K" not in body["message"]
    add_to_cart(client, me.headers, make_product(db, category, price_paise=100_100).id, [me.choice])
    assert apply(client, me, "MIN6K").json()["discount_paise"] == 60_000


def test_the_total_usage_limit_counts_held_and_used_not_released(client, db, me, other, in_cart):
    coupon = make_coupon(db, code="FIRST2", usage_limit_total=2)
    make_redemption(db, coupon, other.user_id, status=RedemptionStatus.USED)
    make_redemption(db, coupon, other.user_id, status=RedemptionStatus.RELEASED)
    assert apply(client, me, "FIRST2").status_code == 200
    make_redemption(db, coupon, other.user_id, status=RedemptionStatus.HELD)
    assert_error(apply(client, me, "FIRST2"), 400, "coupon_usage_exceeded")


def test_the_per_user_limit_counts_only_my_uses(client, db, me, other, in_cart):
    coupon = make_coupon(db, code="ONCE", usage_limit_per_user=1)
    make_redemption(db, coupon, other.user_id, status=RedemptionStatus.USED)
    assert apply(client, me, "ONCE").status_code == 200
    make_redemption(db, coupon, me.user_id, status=RedemptionStatus.HELD)
    assert_error(apply(client, me, "ONCE"), 400, "coupon_usage_exceeded")


def test_a_product_restricted_coupon_discounts_only_its_lines(
    client, db, me, category, product, in_cart
):
    other_product = make_product(db, category, price_paise=200_000)
    add_to_cart(client, me.headers, other_product.id, [me.choice])
    make_coupon(db, code="GUT50", percent_off=50, product_ids=[product.id])
    make_coupon(db, code="NOTHERE", product_ids=[999_999])
    cart = apply(client, me, "GUT50").json()
    assert cart["subtotal_paise"] == PRICE + 200_000
    assert cart["discount_paise"] == PRICE // 2
    assert_error(apply(client, me, "NOTHERE"), 400, "coupon_not_applicable")


def test_a_category_restricted_coupon_discounts_only_its_lines(client, db, me, product, in_cart):
    kids = make_category(db)
    kids_test = make_product(db, kids, price_paise=300_000)
    make_coupon(
        db, code="KIDS", discount_type="flat", amount_off_paise=1_000_000, category_ids=[kids.id]
    )
    assert_error(apply(client, me, "KIDS"), 400, "coupon_not_applicable")
    add_to_cart(client, me.headers, kids_test.id, [me.choice])
    cart = apply(client, me, "KIDS").json()
    assert cart["discount_paise"] == 300_000  # flat, capped at the matching lines
    assert cart["total_paise"] == PRICE


def test_a_restricted_minimum_is_measured_on_the_matching_lines(
    client, db, me, category, product, in_cart
):
    add_to_cart(client, me.headers, make_product(db, category, price_paise=900_000).id, [me.choice])
    make_coupon(db, code="GUTMIN", product_ids=[product.id], min_order_paise=PRICE + 1)
    assert_error(apply(client, me, "GUTMIN"), 400, "coupon_min_order")


def test_a_coupon_needs_something_in_the_cart(client, db, me):
    make_coupon(db, code="EMPTY")
    assert_error(apply(client, me, "EMPTY"), 400, "coupon_not_applicable")


def test_a_refused_coupon_is_audited(client, db, me, in_cart):
    assert_error(apply(client, me, " guess1 "), 400, "coupon_invalid")
    [entry] = audit_rows(db, "cart.coupon_rejected")
    assert entry.actor_user_id == me.user_id
    assert entry.changes == {"code": "GUESS1", "reason": "coupon_invalid"}


def test_applying_another_coupon_replaces_the_first(client, db, me, in_cart):
    make_coupon(db, code="AAA")
    make_coupon(db, code="BBB", percent_off=20)
    apply(client, me, "AAA")
    cart = apply(client, me, "BBB").json()
    assert cart["coupon"]["code"] == "BBB"
    assert audit_rows(db, "cart.coupon_applied")[-1].changes == {
        "code": {"old": "AAA", "new": "BBB"}
    }


def test_removing_the_coupon(client, db, me, in_cart):
    make_coupon(db, code="GONE")
    apply(client, me, "GONE")
    response = client.delete("/cart/coupon", headers=me.headers)
    assert response.status_code == 200
    assert response.json()["coupon"] is None
    assert response.json()["total_paise"] == PRICE
    [entry] = audit_rows(db, "cart.coupon_removed")
    assert entry.changes == {"code": "GONE", "reason": "removed"}
    # Without a coupon there is nothing to remove, and nothing to audit.
    assert client.delete("/cart/coupon", headers=me.headers).status_code == 200
    assert len(audit_rows(db, "cart.coupon_removed")) == 1


def test_a_coupon_that_stops_applying_is_removed_with_a_notice(client, db, me, in_cart):
    coupon = make_coupon(db, code="SHORTLIVED")
    apply(client, me, "SHORTLIVED")
    coupon.active = False
    db.flush()
    cart = client.get("/cart", headers=me.headers).json()
    assert cart["coupon"] is None
    assert cart["discount_paise"] == 0
    assert cart["notices"] == [
        "The coupon SHORTLIVED no longer applies and was removed: This coupon code is not valid."
    ]
    assert client.get("/cart", headers=me.headers).json()["notices"] == []
    [entry] = audit_rows(db, "cart.coupon_removed")
    assert entry.changes == {"code": "SHORTLIVED", "reason": "coupon_invalid"}


def test_removing_items_below_the_minimum_drops_the_coupon(client, db, me, category, in_cart):
    extra = add_to_cart(client, me.headers, make_product(db, category).id, [me.choice])
    make_coupon(db, code="MIN8K", min_order_paise=800_000)
    assert apply(client, me, "MIN8K").status_code == 200
    client.delete(f"/cart/{extra['items'][-1]['id']}", headers=me.headers)
    cart = client.get("/cart", headers=me.headers).json()
    assert cart["coupon"] is None
    assert len(cart["notices"]) == 1 and "MIN8K" in cart["notices"][0]


def test_a_price_rise_is_reflected_in_a_percent_discount(client, db, me, product, in_cart):
    make_coupon(db, code="PCT10")
    apply(client, me, "PCT10")
    product.price_paise = 600_000
    db.flush()
    assert client.get("/cart", headers=me.headers).json()["discount_paise"] == 60_000


# --- listing what I can use --------------------------------------------------------------------


def test_coupons_i_can_use_now_are_listed_with_what_they_would_take_off(
    client, db, me, other, product, in_cart
):
    now = utcnow()
    make_coupon(
        db, code="GOOD", percent_off=10, valid_to=now + timedelta(days=3), description="Ten percent"
    )
    make_coupon(db, code="FLATBIG", discount_type="flat", amount_off_paise=100_000)
    make_coupon(db, code="TOOHIGH", min_order_paise=10_000_000)
    make_coupon(db, code="ELSEWHERE", product_ids=[999_999])
    make_coupon(db, code="OFF", active=False)
    make_coupon(db, code="PAST", valid_to=now - timedelta(days=1))
    make_coupon(db, code="FUTURE", valid_from=now + timedelta(days=1))
    used_up = make_coupon(db, code="USEDUP", usage_limit_total=1)
    make_redemption(db, used_up, other.user_id, status=RedemptionStatus.USED)
    mine_used = make_coupon(db, code="MINEUSED", usage_limit_per_user=1)
    make_redemption(db, mine_used, me.user_id, status=RedemptionStatus.HELD)

    response = client.get("/cart/coupons", headers=me.headers)
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [c["code"] for c in listed] == ["FLATBIG", "GOOD", "ELSEWHERE", "TOOHIGH"]
    flat, good, elsewhere, too_high = listed
    assert flat["eligible"] is True and flat["discount_paise"] == 100_000
    assert good == {
        "code": "GOOD",
        "description": "Ten percent",
        "discount_type": "percent",
        "percent_off": 10,
        "amount_off_paise": None,
        "max_discount_paise": None,
        "min_order_paise": 0,
        "valid_to": good["valid_to"],
        "eligible": True,
        "discount_paise": 49_990,
    }
    assert good["valid_to"] is not None
    assert (elsewhere["eligible"], elsewhere["discount_paise"]) == (False, 0)
    assert (too_high["eligible"], too_high["discount_paise"]) == (False, 0)
    # The other user has not used MINEUSED.
    other_codes = [c["code"] for c in client.get("/cart/coupons", headers=other.headers).json()]
    assert "MINEUSED" in other_codes and "USEDUP" not in other_codes


def test_with_an_empty_cart_every_listed_coupon_is_ineligible(client, db, me):
    make_coupon(db, code="ANY")
    [listed] = client.get("/cart/coupons", headers=me.headers).json()
    assert (listed["code"], listed["eligible"], listed["discount_paise"]) == ("ANY", False, 0)


# --- the rules checkout calls ------------------------------------------------------------------


def lines(*totals, product_id=1, category_id=1):
    return [CouponLineData(product_id, category_id, total) for total in totals]


def test_coupon_discount_raises_each_refusal(db, me):
    now = utcnow()
    assert coupon_discount(db, make_coupon(db), me.user_id, lines(100_000), now) == 10_000
    cases = [
        (make_coupon(db, active=False), CouponInvalid),
        (make_coupon(db, valid_to=now - timedelta(seconds=1)), CouponExpired),
        (make_coupon(db, min_order_paise=100_001), CouponMinOrder),
        (make_coupon(db, category_ids=[2]), CouponNotApplicable),
    ]
    for coupon, error in cases:
        with pytest.raises(error):
            coupon_discount(db, coupon, me.user_id, lines(100_000), now)
    limited = make_coupon(db, usage_limit_per_user=1)
    make_redemption(db, limited, me.user_id, status=RedemptionStatus.USED)
    with pytest.raises(CouponUsageExceeded):
        coupon_discount(db, limited, me.user_id, lines(100_000), now)


def test_a_product_or_category_match_is_enough(db, me):
    coupon = make_coupon(db, percent_off=50, product_ids=[7], category_ids=[3])
    matching = [
        CouponLineData(7, 1, 100_000),  # by product
        CouponLineData(8, 3, 60_000),  # by category
        CouponLineData(9, 4, 1_000_000),  # neither
    ]
    assert coupon_discount(db, coupon, me.user_id, matching, utcnow()) == 80_000


def test_hold_coupon_enforces_the_total_limit_and_released_holds_free_a_use(db, me, other):
    coupon = make_coupon(db, usage_limit_total=2)
    first, second, third = (make_order(db, me.user_id) for _ in range(3))
    hold_coupon(db, coupon_id=coupon.id, user_id=me.user_id, order_id=first.id, discount_paise=5)
    hold_coupon(
        db, coupon_id=coupon.id, user_id=other.user_id, order_id=second.id, discount_paise=5
    )
    with pytest.raises(CouponUsageExceeded):
        hold_coupon(
            db, coupon_id=coupon.id, user_id=me.user_id, order_id=third.id, discount_paise=5
        )
    assert release_coupon_hold(db, first.id) is True
    hold_coupon(db, coupon_id=coupon.id, user_id=me.user_id, order_id=third.id, discount_paise=7)
    statuses = dict(
        db.execute(
            select(CouponRedemption.order_id, CouponRedemption.status).where(
                CouponRedemption.coupon_id == coupon.id
            )
        ).all()
    )
    assert statuses == {
        first.id: RedemptionStatus.RELEASED,
        second.id: RedemptionStatus.HELD,
        third.id: RedemptionStatus.HELD,
    }


def test_hold_coupon_enforces_the_per_user_limit(db, me, other):
    coupon = make_coupon(db, usage_limit_per_user=1)
    hold_coupon(
        db,
        coupon_id=coupon.id,
        user_id=me.user_id,
        order_id=make_order(db, me.user_id).id,
        discount_paise=5,
    )
    with pytest.raises(CouponUsageExceeded):
        hold_coupon(
            db,
            coupon_id=coupon.id,
            user_id=me.user_id,
            order_id=make_order(db, me.user_id).id,
            discount_paise=5,
        )
    hold_coupon(
        db,
        coupon_id=coupon.id,
        user_id=other.user_id,
        order_id=make_order(db, other.user_id).id,
        discount_paise=5,
    )


def test_hold_coupon_rechecks_active_and_window(db, me):
    order = make_order(db, me.user_id)
    inactive = make_coupon(db, active=False)
    expired = make_coupon(db, valid_to=utcnow() - timedelta(seconds=1))
    with pytest.raises(CouponInvalid):
        hold_coupon(
            db, coupon_id=inactive.id, user_id=me.user_id, order_id=order.id, discount_paise=1
        )
    with pytest.raises(CouponExpired):
        hold_coupon(
            db, coupon_id=expired.id, user_id=me.user_id, order_id=order.id, discount_paise=1
        )
    with pytest.raises(CouponInvalid):
        hold_coupon(db, coupon_id=999_999, user_id=me.user_id, order_id=order.id, discount_paise=1)
    assert db.scalar(select(CouponRedemption).where(CouponRedemption.order_id == order.id)) is None


def test_holding_twice_for_one_order_counts_once(db, me):
    coupon = make_coupon(db, usage_limit_total=1)
    order = make_order(db, me.user_id)
    for _ in range(2):
        hold_coupon(
            db, coupon_id=coupon.id, user_id=me.user_id, order_id=order.id, discount_paise=9
        )
    assert (
        len(
            db.scalars(
                select(CouponRedemption).where(CouponRedemption.coupon_id == coupon.id)
            ).all()
        )
        == 1
    )


def test_paying_marks_the_hold_used_and_only_a_hold(db, me):
    coupon = make_coupon(db)
    order = make_order(db, me.user_id)
    no_coupon = make_order(db, me.user_id)
    hold_coupon(db, coupon_id=coupon.id, user_id=me.user_id, order_id=order.id, discount_paise=3)
    assert mark_coupon_used(db, order.id) is True
    assert mark_coupon_used(db, order.id) is False  # repeated: nothing changes
    assert release_coupon_hold(db, order.id) is False  # a use is never released
    assert mark_coupon_used(db, no_coupon.id) is False
    assert release_coupon_hold(db, no_coupon.id) is False
    redemption = db.scalar(select(CouponRedemption).where(CouponRedemption.order_id == order.id))
    assert (redemption.status, redemption.discount_paise) == (RedemptionStatus.USED, 3)


# --- under real concurrency (MariaDB) ----------------------------------------------------------

RACERS = 8
LIMIT = 3


@pytest.fixture
def committed_coupon() -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """A coupon with a total limit of 3 and RACERS users each with an order, committed for
    real (racing sessions cannot see a test transaction)."""
    with Session(engine) as session:
        coupon = Coupon(
            code="RACE-LIMIT-3",
            discount_type="percent",
            percent_off=10,
            usage_limit_total=LIMIT,
            product_ids=[],
            category_ids=[],
        )
        session.add(coupon)
        users = [make_user(session) for _ in range(RACERS)]
        orders = [
            Order(
                order_number=f"NT-RACE-{n:04d}", user_id=user.id, subtotal_paise=100, total_paise=90
            )
            for n, user in enumerate(users)
        ]
        session.add_all(orders)
        session.commit()
        coupon_id = coupon.id
        pairs = [(order.user_id, order.id) for order in orders]
    yield coupon_id, pairs
    with Session(engine) as session:
        session.execute(delete(CouponRedemption).where(CouponRedemption.coupon_id == coupon_id))
        session.execute(delete(Order).where(Order.id.in_([o for _u, o in pairs])))
        session.execute(delete(User).where(User.id.in_([u for u, _o in pairs])))
        session.execute(delete(Coupon).where(Coupon.id == coupon_id))
        session.commit()


@requires_mariadb
def test_coupon_usage_limit_holds_under_concurrent_checkouts(committed_coupon):
    coupon_id, pairs = committed_coupon
    barrier = threading.Barrier(RACERS)

    def checkout(pair: tuple[int, int]) -> str:
        user_id, order_id = pair
        with Session(engine) as session:
            # As in a request: an earlier read fixes the REPEATABLE READ snapshot first.
            session.get(User, user_id)
            session.scalar(select(CouponRedemption.id).limit(1))
            barrier.wait()
            try:
                hold_coupon(
                    session,
                    coupon_id=coupon_id,
                    user_id=user_id,
                    order_id=order_id,
                    discount_paise=10,
                )
                session.commit()
                return "held"
            except CouponUsageExceeded:
                session.rollback()
                return "refused"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(checkout, pairs))
    assert outcomes.count("held") == LIMIT
    assert outcomes.count("refused") == RACERS - LIMIT
    with Session(engine) as session:
        held = session.scalars(
            select(CouponRedemption).where(CouponRedemption.coupon_id == coupon_id)
        ).all()
        assert len(held) == LIMIT


def test_coupon_guessing_is_rate_limited(client, settings, monkeypatch) -> None:
    from tests.support.http import assert_error
    from tests.support.login import login

    monkeypatch.setattr(settings, "COUPON_ATTEMPTS_PER_HOUR", 3)
    me = login(client, "+919876577001")
    for guess in ("AAAA1", "AAAA2", "AAAA3"):
        assert_error(
            client.post("/cart/coupon", json={"code": guess}, headers=me.headers),
            400,
            "coupon_invalid",
        )
    response = client.post("/cart/coupon", json={"code": "AAAA4"}, headers=me.headers)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
