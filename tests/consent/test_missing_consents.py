"""`missing_consents(db, user_id, lines)`: what checkout refuses when consents are lacking."""

from datetime import timedelta

import pytest

from Consent_module.service import CheckoutLine, missing_consents, publish_version, set_type_active
from core.clock import utcnow
from tests.support.database import counting_statements
from tests.support.factories.category import make_category
from tests.support.factories.consent import (
    grant,
    grant_all_required,
    link_consent,
    make_consent_type,
)
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.factories.user import make_user


@pytest.fixture
def user_id(db) -> int:
    return make_user(db).id


@pytest.fixture
def category(db):
    return make_category(db)


@pytest.fixture
def data(db):
    return make_consent_type(db, code="data_processing")


@pytest.fixture
def genetic(db):
    return make_consent_type(db, code="genetic_testing")


def line(product, *members) -> CheckoutLine:
    return CheckoutLine(product_id=product.id, member_ids=tuple(m.id for m in members))


def need(member, product, code: str) -> dict:
    return {"member_id": member.id, "product_id": product.id, "code": code}


def test_lists_every_member_product_and_code_lacking_a_grant(db, user_id, category, data, genetic):
    single = make_product(db, category)
    link_consent(db, single, data)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)

    assert missing_consents(db, user_id, [line(single, member)]) == [
        need(member, single, "data_processing"),
        need(member, single, "genetic_testing"),
    ]


def test_nothing_is_missing_once_every_required_consent_is_granted(
    db, user_id, category, data, genetic
):
    single = make_product(db, category)
    link_consent(db, single, data)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)
    grant_all_required(db, user_id, member, single)

    assert missing_consents(db, user_id, [line(single, member)]) == []


def test_only_the_ungranted_consent_is_listed(db, user_id, category, data, genetic):
    single = make_product(db, category)
    link_consent(db, single, data)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)
    grant(db, user_id, member, data)

    assert missing_consents(db, user_id, [line(single, member)]) == [
        need(member, single, "genetic_testing")
    ]


def test_a_couple_test_needs_both_partners_consent(db, user_id, category, genetic):
    couple = make_product(db, category, plan_type="couple")
    link_consent(db, couple, genetic)
    husband = make_member(db, user_id, name="Ravi", relation="self", gender="male")
    wife = make_member(db, user_id)
    grant(db, user_id, husband, genetic)

    assert missing_consents(db, user_id, [line(couple, husband, wife)]) == [
        need(wife, couple, "genetic_testing")
    ]

    grant(db, user_id, wife, genetic)

    assert missing_consents(db, user_id, [line(couple, husband, wife)]) == []


def test_a_grant_for_one_member_does_not_cover_another(db, user_id, category, genetic):
    single = make_product(db, category)
    link_consent(db, single, genetic)
    granted = make_member(db, user_id)
    other = make_member(db, user_id, name="Meera", relation="child")
    grant(db, user_id, granted, genetic)

    assert missing_consents(db, user_id, [line(single, granted), line(single, other)]) == [
        need(other, single, "genetic_testing")
    ]


def test_withdrawn_grants_do_not_count(db, user_id, category, genetic):
    single = make_product(db, category)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)
    given = grant(db, user_id, member, genetic)
    given.withdrawn_at = utcnow()
    db.flush()

    assert missing_consents(db, user_id, [line(single, member)]) == [
        need(member, single, "genetic_testing")
    ]


def test_a_live_grant_counts_even_after_an_earlier_one_was_withdrawn(
    db, user_id, category, genetic
):
    single = make_product(db, category)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)
    old = grant(db, user_id, member, genetic)
    old.withdrawn_at = utcnow()
    grant(db, user_id, member, genetic).granted_at = utcnow() + timedelta(seconds=1)
    db.flush()

    assert missing_consents(db, user_id, [line(single, member)]) == []


def test_a_grant_of_an_older_version_stops_counting_once_a_new_one_is_published(
    db, user_id, category, genetic
):
    single = make_product(db, category)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)
    grant(db, user_id, member, genetic)
    assert missing_consents(db, user_id, [line(single, member)]) == []

    publish_version(db, "genetic_testing", None, "Revised text", actor_user_id=user_id)
    db.flush()

    assert missing_consents(db, user_id, [line(single, member)]) == [
        need(member, single, "genetic_testing")
    ]
    grant(db, user_id, member, genetic)  # the current version, 2
    assert missing_consents(db, user_id, [line(single, member)]) == []


def test_inactive_consent_types_are_not_required(db, user_id, category, data, genetic):
    single = make_product(db, category)
    link_consent(db, single, data)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)
    set_type_active(db, "genetic_testing", False, actor_user_id=user_id)
    db.flush()

    assert missing_consents(db, user_id, [line(single, member)]) == [
        need(member, single, "data_processing")
    ]


def test_products_without_links_need_nothing(db, user_id, category, genetic):
    unlinked = make_product(db, category)
    member = make_member(db, user_id)

    assert missing_consents(db, user_id, [line(unlinked, member)]) == []
    assert missing_consents(db, user_id, []) == []


def test_another_users_grant_for_the_same_member_id_does_not_count(db, user_id, category, genetic):
    single = make_product(db, category)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)
    intruder = make_user(db)
    grant(db, intruder.id, member, genetic)

    assert missing_consents(db, user_id, [line(single, member)]) == [
        need(member, single, "genetic_testing")
    ]


def test_each_member_product_and_code_is_listed_once(db, user_id, category, genetic):
    single = make_product(db, category)
    link_consent(db, single, genetic)
    member = make_member(db, user_id)

    lines = [line(single, member, member), line(single, member)]

    assert missing_consents(db, user_id, lines) == [need(member, single, "genetic_testing")]


def test_the_result_follows_the_cart_order(db, user_id, category, data, genetic):
    first = make_product(db, category, plan_type="couple")
    second = make_product(db, category)
    link_consent(db, first, genetic)
    link_consent(db, second, data)
    link_consent(db, second, genetic)
    a = make_member(db, user_id, name="A", relation="self", gender="male")
    b = make_member(db, user_id, name="B")
    c = make_member(db, user_id, name="C", relation="child")

    assert missing_consents(db, user_id, [line(first, a, b), line(second, c)]) == [
        need(a, first, "genetic_testing"),
        need(b, first, "genetic_testing"),
        need(c, second, "data_processing"),
        need(c, second, "genetic_testing"),
    ]


def test_sql_statements_do_not_grow_with_lines_or_members(db, user_id, category, data, genetic):
    def cart(size: int) -> list[CheckoutLine]:
        lines = []
        for n in range(size):
            product = make_product(db, category, plan_type="family", max_members=4)
            link_consent(db, product, data)
            link_consent(db, product, genetic)
            members = [
                make_member(db, user_id, name=f"M{n}-{k}", relation="child") for k in range(4)
            ]
            for member in members[:2]:
                grant_all_required(db, user_id, member, product)
            lines.append(line(product, *members))
        db.flush()
        return lines

    small, large = cart(1), cart(6)

    with counting_statements() as one_line:
        small_result = missing_consents(db, user_id, small)
    with counting_statements() as many_lines:
        large_result = missing_consents(db, user_id, large)

    assert len(small_result) == 1 * 2 * 2
    assert len(large_result) == 6 * 2 * 2
    assert len(many_lines) == len(one_line) <= 1
