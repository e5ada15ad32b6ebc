"""Consent rules under real concurrency (MariaDB: real commits and row locks)."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from Category_module.models import Category
from Consent_module.errors import (
    ConsentAlreadyWithdrawn,
    ConsentLinkExists,
    ConsentLinkNotFound,
    ConsentTypeExists,
)
from Consent_module.models import ConsentGrant, ConsentType, ConsentTypeVersion, ProductConsent
from Consent_module.service import (
    create_type,
    grant_consent,
    link_product,
    publish_version,
    unlink_product,
    withdraw_consent,
)
from database import engine
from Login_module.models import User
from Member_module.models import Member
from Product_module.models import Product
from tests.support.database import requires_mariadb
from tests.support.factories.category import make_category
from tests.support.factories.consent import make_consent_type
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.factories.user import make_user

RACERS = 8


@dataclass
class Committed:
    user_id: int
    member_id: int
    consent_type_id: int
    product_id: int


@pytest.fixture
def committed() -> Iterator[Committed]:
    """A user, a member and a consent type committed for real (racing sessions cannot see a
    test transaction); removed afterwards."""
    with Session(engine) as session:
        user = make_user(session)
        member = make_member(session, user.id, relation="self")
        consent_type = make_consent_type(session, code="race_consent")
        category = make_category(session)
        product = make_product(session, category)
        session.commit()
        rows = Committed(user.id, member.id, consent_type.id, product.id)
        category_id = category.id
    yield rows
    with Session(engine) as session:
        session.execute(delete(AuditLog).where(AuditLog.actor_user_id == rows.user_id))
        session.execute(delete(ConsentGrant).where(ConsentGrant.user_id == rows.user_id))
        session.execute(delete(ProductConsent).where(ProductConsent.product_id == rows.product_id))
        session.execute(delete(ConsentTypeVersion))
        session.execute(delete(ConsentType))
        session.execute(delete(Product).where(Product.id == rows.product_id))
        session.execute(delete(Category).where(Category.id == category_id))
        session.execute(delete(Member).where(Member.user_id == rows.user_id))
        session.execute(delete(User).where(User.id == rows.user_id))
        session.commit()


def race(action) -> list:
    """RACERS threads run `action(session)` at the same moment, each in its own transaction
    that has already read something (as a request has, authenticating); returns the outcomes."""
    barrier = threading.Barrier(RACERS)

    def run(_: int):
        with Session(engine) as session:
            session.execute(select(func.count()).select_from(ConsentGrant)).scalar()
            barrier.wait()
            try:
                outcome = action(session)
                session.commit()
                return outcome
            except (
                ConsentAlreadyWithdrawn,
                ConsentLinkExists,
                ConsentLinkNotFound,
                ConsentTypeExists,
            ) as exc:
                session.rollback()
                return exc.code

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(run, range(RACERS)))


def grants_of(user_id: int) -> list[ConsentGrant]:
    with Session(engine) as session:
        return list(session.scalars(select(ConsentGrant).where(ConsentGrant.user_id == user_id)))


@pytest.mark.concurrency
@requires_mariadb
def test_concurrent_identical_grants_create_one_grant(committed):
    ids = race(
        lambda session: (
            grant_consent(session, committed.user_id, committed.member_id, "race_consent", 1).id
        )
    )

    assert len(set(ids)) == 1
    assert len(grants_of(committed.user_id)) == 1


@pytest.mark.concurrency
@requires_mariadb
def test_concurrent_withdrawals_withdraw_once(committed):
    with Session(engine) as session:
        grant_id = grant_consent(
            session, committed.user_id, committed.member_id, "race_consent", 1
        ).id
        session.commit()

    outcomes = race(lambda session: withdraw_consent(session, committed.user_id, grant_id).id)

    assert outcomes.count(grant_id) == 1
    assert outcomes.count("consent_already_withdrawn") == RACERS - 1


def audit_count(action: str) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
        )


@pytest.mark.concurrency
@requires_mariadb
def test_concurrent_creates_of_one_code_create_it_once(committed):
    outcomes = race(
        lambda session: create_type(session, "raced_code", "Title", "Body", committed.user_id).id
    )

    created = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert len(created) == 1
    assert outcomes.count("consent_type_exists") == RACERS - 1
    assert audit_count("consent_type.created") == 1


@pytest.mark.concurrency
@requires_mariadb
def test_concurrent_publishes_each_get_their_own_version(committed):
    outcomes = race(
        lambda session: (
            publish_version(session, "race_consent", None, "A new text", committed.user_id).version
        )
    )

    assert sorted(outcomes) == list(range(2, RACERS + 2))
    with Session(engine) as session:
        versions = session.scalars(
            select(ConsentTypeVersion.version)
            .where(ConsentTypeVersion.consent_type_id == committed.consent_type_id)
            .order_by(ConsentTypeVersion.version)
        ).all()
        assert versions == list(range(1, RACERS + 2))
        assert session.get(ConsentType, committed.consent_type_id).version == RACERS + 1


@pytest.mark.concurrency
@requires_mariadb
def test_concurrent_links_link_once(committed):
    outcomes = race(
        lambda session: (
            link_product(session, committed.product_id, "race_consent", committed.user_id).id
        )
    )

    assert len([outcome for outcome in outcomes if isinstance(outcome, int)]) == 1
    assert outcomes.count("consent_link_exists") == RACERS - 1
    assert audit_count("consent_link.created") == 1


@pytest.mark.concurrency
@requires_mariadb
def test_concurrent_unlinks_unlink_once(committed):
    with Session(engine) as session:
        link_product(session, committed.product_id, "race_consent", committed.user_id)
        session.commit()

    outcomes = race(
        lambda session: unlink_product(
            session, committed.product_id, "race_consent", committed.user_id
        )
    )

    assert outcomes.count(None) == 1
    assert outcomes.count("consent_link_not_found") == RACERS - 1
    assert audit_count("consent_link.deleted") == 1
