"""Cart writes racing each other and member deletion (MariaDB: real commits and row locks)."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from Address_module.models import Address, ServiceableLocation
from Audit_module.models import AuditLog
from Cart_module.errors import AlreadyInCart
from Cart_module.models import Cart, CartItem, CartItemMember
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
from tests.support.factories.category import make_category
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.factories.user import make_user

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
