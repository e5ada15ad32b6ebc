"""The cart through HTTP: adding, changing and removing items, re-pricing and dropping rules."""

import pytest
from sqlalchemy import select

from Audit_module.models import AuditLog
from Cart_module.models import Cart, CartItem, CartItemMember
from Cart_module.pricing import load_cart, price_cart
from Cart_module.service import empty_cart
from Member_module.models import Member
from tests.support.database import counting_statements
from tests.support.factories.address import make_address, make_location
from tests.support.factories.cart import add_to_cart, make_coupon, member_choices
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.http import assert_error


def audit_rows(db, action, entity_id=None):
    db.expire_all()
    statement = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    if entity_id is not None:
        statement = statement.where(AuditLog.entity_id == str(entity_id))
    return db.scalars(statement).all()


def post_add(client, buyer, product_id, members, quantity=None):
    body = {"product_id": product_id, "members": member_choices(members)}
    if quantity is not None:
        body["quantity"] = quantity
    return client.post("/cart/add", headers=buyer.headers, json=body)


# --- reading -----------------------------------------------------------------------------------


def test_cart_routes_need_a_login(client):
    for method, path in [
        ("get", "/cart"),
        ("post", "/cart/add"),
        ("delete", "/cart"),
        ("put", "/cart/1"),
        ("delete", "/cart/1"),
        ("post", "/cart/coupon"),
        ("delete", "/cart/coupon"),
        ("get", "/cart/coupons"),
    ]:
        response = client.request(method, path, json={})
        assert_error(response, 401, "not_authenticated")


def test_a_new_users_cart_is_empty(client, me):
    response = client.get("/cart", headers=me.headers)
    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "coupon": None,
        "subtotal_paise": 0,
        "discount_paise": 0,
        "total_paise": 0,
        "notices": [],
    }


def test_adding_a_single_test_returns_the_priced_cart(client, db, me, product):
    cart = add_to_cart(client, me.headers, product.id, [me.choice])
    [item] = cart["items"]
    assert item["product"] == {
        "id": product.id,
        "name": "Gut",
        "plan_type": "single",
        "price_paise": 499_900,
    }
    assert item["members"] == [
        {"member_id": me.member.id, "name": "Asha Rao", "address_id": me.address.id}
    ]
    assert item["quantity"] == 1
    assert item["unit_price_paise"] == item["line_total_paise"] == 499_900
    assert cart["subtotal_paise"] == cart["total_paise"] == 499_900
    assert cart["discount_paise"] == 0
    assert cart["coupon"] is None
    assert client.get("/cart", headers=me.headers).json() == cart

    [entry] = audit_rows(db, "cart.item_added", item["id"])
    assert entry.actor_user_id == me.user_id
    assert entry.entity_type == "cart_item"
    assert entry.changes["product_id"] == product.id
    assert entry.changes["members"] == [{"member_id": me.member.id, "address_id": me.address.id}]


def test_quantity_multiplies_the_line(client, me, product):
    cart = add_to_cart(client, me.headers, product.id, [me.choice], quantity=3)
    assert cart["items"][0]["quantity"] == 3
    assert cart["items"][0]["line_total_paise"] == 3 * 499_900
    assert cart["total_paise"] == 3 * 499_900


@pytest.mark.parametrize("quantity", [0, 11, -1])
def test_quantity_runs_from_1_to_10(client, me, product, quantity):
    assert_error(post_add(client, me, product.id, [me.choice], quantity), 422, "validation_error")


def test_a_couple_test_takes_two_members(client, db, me, category):
    couple = make_product(db, category, plan_type="couple", name="Family planning")
    spouse = make_member(db, me.user_id, name="Ravi Rao", relation="self")
    cart = add_to_cart(client, me.headers, couple.id, [me.choice, (spouse.id, me.address.id)])
    [item] = cart["items"]
    assert [m["name"] for m in item["members"]] == ["Asha Rao", "Ravi Rao"]
    assert item["line_total_paise"] == couple.price_paise


def test_the_member_count_must_fit_the_plan(client, db, me, category, product):
    couple = make_product(db, category, plan_type="couple")
    narrowed = make_product(db, category, plan_type="family", min_members=3, max_members=3)
    extra = [make_member(db, me.user_id, name=f"Kid {n}", relation="child") for n in range(3)]
    two = [me.choice, (extra[0].id, me.address.id)]
    four = [*two, (extra[1].id, me.address.id), (extra[2].id, me.address.id)]

    body = assert_error(post_add(client, me, couple.id, [me.choice]), 422, "invalid_member_count")
    assert "2 members" in body["message"]
    assert_error(post_add(client, me, product.id, two), 422, "invalid_member_count")
    assert_error(post_add(client, me, narrowed.id, four), 422, "invalid_member_count")
    assert_error(post_add(client, me, narrowed.id, two), 422, "invalid_member_count")
    assert post_add(client, me, narrowed.id, four[:3]).status_code == 200


def test_no_members_too_many_or_the_same_member_twice_is_an_invalid_member_count(
    client, db, me, category
):
    couple = make_product(db, category, plan_type="couple")
    kids = [make_member(db, me.user_id, name=f"Kid {n}", relation="child") for n in range(4)]
    five = [me.choice] + [(kid.id, me.address.id) for kid in kids]
    assert_error(post_add(client, me, couple.id, []), 422, "invalid_member_count")
    assert_error(post_add(client, me, couple.id, five), 422, "invalid_member_count")
    assert_error(
        post_add(client, me, couple.id, [me.choice, me.choice]), 422, "invalid_member_count"
    )


def test_only_active_products_can_be_added(client, db, me, category):
    retired = make_product(db, category, is_active=False)
    assert_error(post_add(client, me, retired.id, [me.choice]), 404, "product_not_found")
    assert_error(post_add(client, me, 999_999, [me.choice]), 404, "product_not_found")


def test_members_must_be_mine_and_not_deleted(client, db, me, other, product):
    assert_error(
        post_add(client, me, product.id, [(other.member.id, me.address.id)]),
        404,
        "member_not_found",
    )
    gone = make_member(db, me.user_id, name="Gone", is_deleted=True)
    assert_error(
        post_add(client, me, product.id, [(gone.id, me.address.id)]), 404, "member_not_found"
    )


def test_addresses_must_be_mine_and_not_deleted(client, db, me, other, product):
    assert_error(
        post_add(client, me, product.id, [(me.member.id, other.address.id)]),
        404,
        "address_not_found",
    )
    gone = make_address(db, me.user_id, is_deleted=True)
    assert_error(
        post_add(client, me, product.id, [(me.member.id, gone.id)]), 404, "address_not_found"
    )


def test_the_address_city_must_still_be_serviceable(client, db, me, product):
    location = make_location(db, "BANGALORE")
    location.is_active = False
    db.flush()
    assert_error(post_add(client, me, product.id, [me.choice]), 422, "location_not_serviceable")

    nothing_there = make_location(db, "Shimla", home_collection=False, sample_pickup=False)
    address = make_address(db, me.user_id, city=nothing_there.city, state="Himachal Pradesh")
    assert_error(
        post_add(client, me, product.id, [(me.member.id, address.id)]),
        422,
        "location_not_serviceable",
    )
    pickup_only = make_location(db, "Mysore", home_collection=False, sample_pickup=True)
    address = make_address(db, me.user_id, city=pickup_only.city)
    assert post_add(client, me, product.id, [(me.member.id, address.id)]).status_code == 200


def test_the_same_test_for_the_same_member_twice_is_refused(client, db, me, category, product):
    add_to_cart(client, me.headers, product.id, [me.choice])
    assert_error(post_add(client, me, product.id, [me.choice]), 409, "already_in_cart")

    child = make_member(db, me.user_id, name="Kid", relation="child")
    assert post_add(client, me, product.id, [(child.id, me.address.id)]).status_code == 200
    another = make_product(db, category)
    assert post_add(client, me, another.id, [me.choice]).status_code == 200

    couple = make_product(db, category, plan_type="couple")
    spouse = make_member(db, me.user_id, name="Ravi", relation="self")
    add_to_cart(client, me.headers, couple.id, [me.choice, (spouse.id, me.address.id)])
    assert_error(
        post_add(client, me, couple.id, [(child.id, me.address.id), (spouse.id, me.address.id)]),
        409,
        "already_in_cart",
    )
    assert len(client.get("/cart", headers=me.headers).json()["items"]) == 4


def test_each_user_sees_only_their_own_cart(client, me, other, product):
    add_to_cart(client, me.headers, product.id, [me.choice])
    assert client.get("/cart", headers=other.headers).json()["items"] == []


# --- changing and removing ---------------------------------------------------------------------


def test_changing_the_quantity_is_audited(client, db, me, product):
    cart = add_to_cart(client, me.headers, product.id, [me.choice])
    item_id = cart["items"][0]["id"]
    response = client.put(f"/cart/{item_id}", headers=me.headers, json={"quantity": 2})
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["quantity"] == 2
    assert response.json()["total_paise"] == 2 * 499_900
    [entry] = audit_rows(db, "cart.item_updated", item_id)
    assert entry.changes == {"quantity": {"old": 1, "new": 2}}


def test_changing_the_members_replaces_them(client, db, me, category):
    couple = make_product(db, category, plan_type="couple")
    spouse = make_member(db, me.user_id, name="Ravi", relation="self")
    child = make_member(db, me.user_id, name="Kid", relation="child")
    work = make_address(db, me.user_id, label="work")
    cart = add_to_cart(client, me.headers, couple.id, [me.choice, (spouse.id, me.address.id)])
    item_id = cart["items"][0]["id"]

    response = client.put(
        f"/cart/{item_id}",
        headers=me.headers,
        json={"members": member_choices([(child.id, me.address.id), (me.member.id, work.id)])},
    )
    assert response.status_code == 200, response.text
    members = response.json()["items"][0]["members"]
    assert {(m["member_id"], m["address_id"]) for m in members} == {
        (me.member.id, work.id),
        (child.id, me.address.id),
    }
    db.expire_all()
    rows = db.scalars(select(CartItemMember).where(CartItemMember.cart_item_id == item_id)).all()
    assert len(rows) == 2
    [entry] = audit_rows(db, "cart.item_updated", item_id)
    assert set(entry.changes) == {"members"}


def test_changed_members_are_checked_like_new_ones(client, db, me, other, category, product):
    couple = make_product(db, category, plan_type="couple")
    spouse = make_member(db, me.user_id, name="Ravi", relation="self")
    child = make_member(db, me.user_id, name="Kid", relation="child")
    add_to_cart(client, me.headers, product.id, [me.choice])
    cart = add_to_cart(client, me.headers, product.id, [(child.id, me.address.id)])
    item_id = cart["items"][-1]["id"]
    url = f"/cart/{item_id}"

    def put(members):
        return client.put(url, headers=me.headers, json={"members": member_choices(members)})

    assert_error(put([me.choice]), 409, "already_in_cart")
    assert_error(put([me.choice, (spouse.id, me.address.id)]), 422, "invalid_member_count")
    assert_error(put([(other.member.id, me.address.id)]), 404, "member_not_found")
    assert_error(put([(spouse.id, other.address.id)]), 404, "address_not_found")
    assert put([(spouse.id, me.address.id)]).status_code == 200
    assert put([(spouse.id, me.address.id)]).status_code == 200  # same members again: fine
    couple_cart = add_to_cart(
        client, me.headers, couple.id, [me.choice, (spouse.id, me.address.id)]
    )
    assert len(couple_cart["items"]) == 3


def test_an_update_must_change_something(client, me, product):
    cart = add_to_cart(client, me.headers, product.id, [me.choice])
    item_id = cart["items"][0]["id"]
    assert_error(
        client.put(f"/cart/{item_id}", headers=me.headers, json={}), 422, "validation_error"
    )
    assert_error(
        client.put(f"/cart/{item_id}", headers=me.headers, json={"quantity": 11}),
        422,
        "validation_error",
    )


def test_other_users_items_are_not_found(client, me, other, product):
    cart = add_to_cart(client, other.headers, product.id, [other.choice])
    item_id = cart["items"][0]["id"]
    assert_error(
        client.put(f"/cart/{item_id}", headers=me.headers, json={"quantity": 2}),
        404,
        "cart_item_not_found",
    )
    assert_error(client.delete(f"/cart/{item_id}", headers=me.headers), 404, "cart_item_not_found")
    add_to_cart(client, me.headers, product.id, [me.choice])  # me now has a cart too
    assert_error(client.delete(f"/cart/{item_id}", headers=me.headers), 404, "cart_item_not_found")
    assert_error(client.delete("/cart/999999", headers=me.headers), 404, "cart_item_not_found")
    assert len(client.get("/cart", headers=other.headers).json()["items"]) == 1


def test_removing_an_item(client, db, me, product):
    cart = add_to_cart(client, me.headers, product.id, [me.choice])
    item_id = cart["items"][0]["id"]
    response = client.delete(f"/cart/{item_id}", headers=me.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/cart", headers=me.headers).json()["items"] == []
    assert_error(client.delete(f"/cart/{item_id}", headers=me.headers), 404, "cart_item_not_found")
    [entry] = audit_rows(db, "cart.item_removed", item_id)
    assert entry.changes["reason"] == "removed"
    assert (
        db.scalars(select(CartItemMember).where(CartItemMember.cart_item_id == item_id)).all() == []
    )


def test_clearing_the_cart_removes_items_and_coupon(client, db, me, category, product):
    add_to_cart(client, me.headers, product.id, [me.choice])
    add_to_cart(client, me.headers, make_product(db, category).id, [me.choice])
    coupon = make_coupon(db)
    assert client.post("/cart/coupon", headers=me.headers, json={"code": coupon.code}).is_success

    response = client.delete("/cart", headers=me.headers)
    assert response.status_code == 204
    cart = client.get("/cart", headers=me.headers).json()
    assert cart["items"] == [] and cart["coupon"] is None and cart["notices"] == []
    [entry] = audit_rows(db, "cart.cleared")
    assert entry.actor_user_id == me.user_id
    assert len(entry.changes["items"]) == 2
    assert entry.changes["coupon"] == coupon.code
    # Clearing an empty cart is fine and records nothing new.
    assert client.delete("/cart", headers=me.headers).status_code == 204
    assert len(audit_rows(db, "cart.cleared")) == 1


# --- re-pricing and dropping -------------------------------------------------------------------


def test_totals_follow_the_current_price(client, db, me, product):
    add_to_cart(client, me.headers, product.id, [me.choice], quantity=2)
    product.price_paise = 399_900
    db.flush()
    cart = client.get("/cart", headers=me.headers).json()
    assert cart["items"][0]["unit_price_paise"] == 399_900
    assert cart["items"][0]["product"]["price_paise"] == 399_900
    assert cart["items"][0]["line_total_paise"] == cart["total_paise"] == 799_800


def test_a_deactivated_product_drops_out_with_a_notice(client, db, me, category, product):
    kept = make_product(db, category, name="My genes", price_paise=100_000)
    cart = add_to_cart(client, me.headers, product.id, [me.choice])
    dropped_id = cart["items"][0]["id"]
    add_to_cart(client, me.headers, kept.id, [me.choice])
    product.is_active = False
    db.flush()

    cart = client.get("/cart", headers=me.headers).json()
    assert cart["notices"] == ["Gut is no longer available and was removed from your cart."]
    assert [item["product"]["name"] for item in cart["items"]] == ["My genes"]
    assert cart["total_paise"] == 100_000
    # It was really removed: the next read has nothing to say.
    assert client.get("/cart", headers=me.headers).json()["notices"] == []
    db.expire_all()
    assert db.get(CartItem, dropped_id) is None
    [entry] = audit_rows(db, "cart.item_removed", dropped_id)
    assert entry.changes["reason"] == "product_unavailable"


def test_an_item_whose_member_was_deleted_drops_out(client, db, me, product):
    add_to_cart(client, me.headers, product.id, [me.choice])
    me.member.is_deleted = True
    db.flush()
    cart = client.get("/cart", headers=me.headers).json()
    assert cart["items"] == []
    assert cart["notices"] == [
        "Gut for Asha Rao was removed from your cart because the member was deleted."
    ]


def test_an_item_whose_plan_no_longer_fits_its_members_drops_out(client, db, me, category):
    family = make_product(db, category, plan_type="family", name="Family panel")
    kids = [make_member(db, me.user_id, name=f"Kid {n}", relation="child") for n in range(3)]
    add_to_cart(client, me.headers, family.id, [(kid.id, me.address.id) for kid in kids])
    family.min_members = 4
    db.flush()
    cart = client.get("/cart", headers=me.headers).json()
    assert cart["items"] == []
    assert "Family panel" in cart["notices"][0]


def test_a_member_in_my_cart_cannot_be_deleted(client, db, me, product):
    cart = add_to_cart(client, me.headers, product.id, [me.choice])
    assert_error(client.delete(f"/member/{me.member.id}", headers=me.headers), 409, "member_in_use")
    db.expire_all()
    assert db.get(Member, me.member.id).is_deleted is False
    client.delete(f"/cart/{cart['items'][0]['id']}", headers=me.headers)
    assert client.delete(f"/member/{me.member.id}", headers=me.headers).status_code == 204


def count_cart_read(client, headers):
    with counting_statements() as statements:
        response = client.get("/cart", headers=headers)
    assert response.status_code == 200
    return len(statements), response.json()


def test_reading_the_cart_takes_the_same_queries_for_1_and_8_items(client, db, me, category):
    coupon = make_coupon(db)
    products = [make_product(db, category) for _ in range(8)]
    kid = make_member(db, me.user_id, name="Kid", relation="child")
    add_to_cart(client, me.headers, products[0].id, [me.choice])
    client.post("/cart/coupon", headers=me.headers, json={"code": coupon.code})
    client.get("/cart", headers=me.headers)  # warm the session cache of the login
    one, cart = count_cart_read(client, me.headers)
    assert len(cart["items"]) == 1 and cart["coupon"] is not None

    for product in products[1:]:
        add_to_cart(client, me.headers, product.id, [(kid.id, me.address.id)])
    eight, cart = count_cart_read(client, me.headers)
    assert len(cart["items"]) == 8 and cart["coupon"] is not None
    assert eight == one


def test_reading_a_cart_is_one_select(client, db, me, category):
    """Cart, items, products, categories and members in one joined read (no lock taken)."""
    for product in [make_product(db, category) for _ in range(2)]:
        add_to_cart(client, me.headers, product.id, [me.choice])
    client.get("/cart", headers=me.headers)  # warm the session cache of the login
    with counting_statements() as statements:
        cart = client.get("/cart", headers=me.headers).json()
    assert len(cart["items"]) == 2 and cart["items"][0]["members"][0]["name"] == me.member.name
    reads = [s for s in statements if s.split()[0].upper() == "SELECT"]
    assert len(reads) == 1, reads
    assert "FOR UPDATE" not in reads[0].upper()


# --- service functions checkout uses -----------------------------------------------------------


def test_load_cart_loads_everything_checkout_needs(client, db, me, product):
    assert load_cart(db, me.user_id) is None
    add_to_cart(client, me.headers, product.id, [me.choice])
    db.expire_all()
    cart = load_cart(db, me.user_id, for_update=True)
    assert isinstance(cart, Cart)
    [item] = cart.items
    assert item.product.category.id == product.category_id
    assert [m.member_id for m in item.members] == [me.member.id]
    assert cart.coupon is None


def test_price_cart_lines_carry_what_coupons_and_snapshots_need(client, db, me, product):
    add_to_cart(client, me.headers, product.id, [me.choice], quantity=2)
    view = price_cart(db, me.user_id)
    [line] = view.lines
    assert (line.product_id, line.category_id, line.line_total_paise) == (
        product.id,
        product.category_id,
        999_800,
    )
    assert line.item.id == line.item_id
    assert line.members[0].name == "Asha Rao"
    assert (view.subtotal_paise, view.discount_paise, view.total_paise) == (999_800, 0, 999_800)
    assert price_cart(db, 999_999).lines == []


def test_empty_cart_removes_items_and_coupon(client, db, me, product):
    add_to_cart(client, me.headers, product.id, [me.choice])
    coupon = make_coupon(db)
    client.post("/cart/coupon", headers=me.headers, json={"code": coupon.code})
    empty_cart(db, me.user_id)
    db.expire_all()
    cart = load_cart(db, me.user_id)
    assert cart is not None and cart.items == [] and cart.coupon_id is None
    empty_cart(db, 999_999)  # no cart: nothing to do
