"""Cart writes racing each other and member deletion, and holds of an allow-listed coupon
racing each other and the allow-list's changes (MariaDB: real commits and row locks)."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from Address_module.models import Address, ServiceableLocation
from Audit_module.models import AuditLog
from Cart_module.allow_list import remove_from_allow_list
from Cart_module.checkout import hold_coupon
from Cart_module.errors import AlreadyInCart, CouponInvalid, CouponUsageExceeded
from Cart_module.models import Cart, CartItem, CartItemMember, CouponAllowedEntry, CouponRedemption
from Cart_module.pricing import price_cart
from Cart_module.service import MemberChoice, add_item
from Category_module.models import Category
from database import engine
from Login_module.models import User
from Member_module.errors import MemberInUse, MemberNotFound
from Member_module.models import Member
from Member_module.service import delete_member
from Product_module.models import Product
from tests.support.database import requires_mariadb
from tests.support.factories.address import make_address
from tests.support.factories.cart import make_coupon, make_order
from tests.support.factories.category import make_category
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.factories.user import make_user
from tests.support.races import all_at_once, connection_id, wait_until_blocked

RACERS = 6


@dataclass
class Shopper:
    user_id: int
    member_id: int
    address_id: int
    product_id: int


@pytest.fixture
def shopper() -> Iterator[Shopper]:
    """A user with a member, an address and a product to buy, committed for real."""
    with Session(engine) as session:
        user = make_user(session)
        member = make_member(session, user.id)
        address = make_address(session, user.id, city="Racepur")
        category = make_category(session)
        product = make_product(session, category)
        session.commit()
        made = Shopper(user.id, member.id, address.id, product.id)
        category_id = category.id
    yield made
    with Session(engine) as session:
        cart_ids = select(Cart.id).where(Cart.user_id == made.user_id)
        item_ids = select(CartItem.id).where(CartItem.cart_id.in_(cart_ids))
        session.execute(delete(CartItemMember).where(CartItemMember.cart_item_id.in_(item_ids)))
        session.execute(delete(CartItem).where(CartItem.cart_id.in_(cart_ids)))
        session.execute(delete(Cart).where(Cart.user_id == made.user_id))
        session.execute(delete(AuditLog).where(AuditLog.actor_user_id == made.user_id))
        session.execute(delete(Address).where(Address.user_id == made.user_id))
        session.execute(delete(Member).where(Member.user_id == made.user_id))
        session.execute(delete(Product).where(Product.id == made.product_id))
        session.execute(delete(Category).where(Category.id == category_id))
        session.execute(delete(ServiceableLocation).where(ServiceableLocation.city == "Racepur"))
        session.execute(delete(User).where(User.id == made.user_id))
        session.commit()


def race(user_id: int, actions: list[Callable[[Session], Any]]) -> list[str]:
    """Run each action in its own session at the same moment; each one's outcome."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[Session], Any]) -> str:
        with Session(engine) as session:
            session.get(User, user_id)  # as a request: authentication reads first
            barrier.wait()
            try:
                action(session)
                session.commit()
                return "ok"
            except (AlreadyInCart, MemberInUse, MemberNotFound) as refusal:
                session.rollback()
                return refusal.code

    with ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(run, actions))


@requires_mariadb
def test_simultaneous_first_adds_of_the_same_test_create_one_cart_and_one_item(shopper):
    choice = [MemberChoice(shopper.member_id, shopper.address_id)]

    def add(session: Session) -> None:
        add_item(session, shopper.user_id, shopper.product_id, choice)

    outcomes = race(shopper.user_id, [add] * RACERS)
    assert sorted(outcomes) == ["already_in_cart"] * (RACERS - 1) + ["ok"]
    with Session(engine) as session:
        carts = session.scalars(select(Cart).where(Cart.user_id == shopper.user_id)).all()
        assert len(carts) == 1
        items = session.scalars(select(CartItem).where(CartItem.cart_id == carts[0].id)).all()
        assert len(items) == 1


@requires_mariadb
def test_a_member_is_never_deleted_while_a_cart_takes_them(shopper):
    """Adding to the cart and deleting the member at once: either the add wins (the delete is
    refused as in use) or the delete wins (the add finds no member), never both."""
    choice = [MemberChoice(shopper.member_id, shopper.address_id)]

    def add(session: Session) -> None:
        add_item(session, shopper.user_id, shopper.product_id, choice)

    def remove(session: Session) -> None:
        delete_member(session, shopper.user_id, shopper.member_id)

    outcomes = race(shopper.user_id, [add, remove])
    assert outcomes in (["ok", "member_in_use"], ["member_not_found", "ok"])
    with Session(engine) as session:
        member = session.get(Member, shopper.member_id)
        in_cart = session.scalar(
            select(CartItemMember.id).where(CartItemMember.member_id == shopper.member_id)
        )
        assert (in_cart is not None) != member.is_deleted


@requires_mariadb
def test_simultaneous_reads_drop_a_withdrawn_test_once(shopper):
    with Session(engine) as session:
        add_item(
            session,
            shopper.user_id,
            shopper.product_id,
            [MemberChoice(shopper.member_id, shopper.address_id)],
        )
        session.commit()
        session.get(Product, shopper.product_id).is_active = False
        session.commit()
    notices: list[list[str]] = []

    def read(session: Session) -> None:
        notices.append(price_cart(session, shopper.user_id).notices)

    assert race(shopper.user_id, [read] * RACERS) == ["ok"] * RACERS
    assert sorted(len(n) for n in notices) == [0] * (RACERS - 1) + [1]
    with Session(engine) as session:
        removals = session.scalars(
            select(AuditLog).where(
                AuditLog.action == "cart.item_removed", AuditLog.actor_user_id == shopper.user_id
            )
        ).all()
        assert len(removals) == 1


# --- an allow-listed coupon --------------------------------------------------------------------

LISTED_LIMIT = 3


@dataclass
class TargetedRace:
    coupon_id: int
    listed: list[tuple[int, int]]  # (user_id, order_id) of listed users
    unlisted: list[tuple[int, int]]


@pytest.fixture
def targeted_race(committing: Engine) -> TargetedRace:
    """A targeted coupon (total limit 3) listing RACERS users, half by phone and half by
    account, and two unlisted users; each with an order to hold it on. Committed for real."""
    with Session(committing) as session:
        coupon = make_coupon(session, usage_limit_total=LISTED_LIMIT, targeted=True)
        users = [make_user(session) for _ in range(RACERS + 2)]
        listed, unlisted = users[:RACERS], users[RACERS:]
        for n, user in enumerate(listed):
            by_phone = {"phone": user.phone} if n % 2 else {"user_id": user.id}
            session.add(CouponAllowedEntry(coupon_id=coupon.id, **by_phone))
        orders = {user.id: make_order(session, user.id).id for user in users}
        session.commit()
        return TargetedRace(
            coupon.id,
            [(user.id, orders[user.id]) for user in listed],
            [(user.id, orders[user.id]) for user in unlisted],
        )


def hold_for(coupon_id: int, user_id: int, order_id: int) -> Callable[[], str]:
    def hold() -> str:
        with Session(engine) as session:
            session.get(User, user_id)  # as a request: authentication reads first
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
            except (CouponInvalid, CouponUsageExceeded) as refusal:
                session.rollback()
                return refusal.code

    return hold


def test_an_allow_listed_coupons_limit_holds_when_listed_and_unlisted_users_race(
    targeted_race: TargetedRace,
) -> None:
    race = targeted_race
    pairs = race.listed + race.unlisted
    outcomes = all_at_once([hold_for(race.coupon_id, user, order) for user, order in pairs])
    listed_outcomes, unlisted_outcomes = outcomes[:RACERS], outcomes[RACERS:]
    assert (
        sorted(listed_outcomes)
        == ["coupon_usage_exceeded"] * (RACERS - LISTED_LIMIT) + ["held"] * LISTED_LIMIT
    )
    assert unlisted_outcomes == ["coupon_invalid", "coupon_invalid"]
    with Session(engine) as session:
        holders = session.scalars(
            select(CouponRedemption.user_id).where(CouponRedemption.coupon_id == race.coupon_id)
        ).all()
    assert len(holders) == LISTED_LIMIT
    assert set(holders) <= {user for user, _order in race.listed}


def test_a_hold_that_waited_for_an_allow_list_removal_sees_it(
    targeted_race: TargetedRace,
) -> None:
    """The admin's removal holds the coupon's lock; a checkout's hold for that user waits for
    it, then reads the list as committed and is refused, as for an unknown code."""
    (user_id, order_id) = race_pair = targeted_race.listed[0]
    with Session(engine) as admin_session:
        entry_id = admin_session.scalar(
            select(CouponAllowedEntry.id).where(
                CouponAllowedEntry.coupon_id == targeted_race.coupon_id,
                CouponAllowedEntry.user_id == user_id,
            )
        )
        assert entry_id is not None
        remove_from_allow_list(admin_session, 1, targeted_race.coupon_id, entry_id)
        with Session(engine) as checkout_session, ThreadPoolExecutor(1) as pool:
            waiting = connection_id(checkout_session)

            def hold() -> str:
                try:
                    hold_coupon(
                        checkout_session,
                        coupon_id=targeted_race.coupon_id,
                        user_id=race_pair[0],
                        order_id=order_id,
                        discount_paise=10,
                    )
                    checkout_session.commit()
                    return "held"
                except CouponInvalid as refusal:
                    checkout_session.rollback()
                    return refusal.code

            outcome = pool.submit(hold)
            wait_until_blocked(engine, waiting)
            admin_session.commit()
            assert outcome.result(timeout=10) == "coupon_invalid"
    with Session(engine) as session:
        assert session.scalar(select(CouponRedemption.id).limit(1)) is None
