"""Address rules under real concurrency (MariaDB: real commits and row locks)."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from Address_module.errors import AddressLimitReached
from Address_module.models import Address, ServiceableLocation
from Address_module.schemas import AddressIn, AddressUpdateIn
from Address_module.service import create_address, delete_address, update_address
from database import engine
from Login_module.models import User
from tests.support.database import requires_mariadb

RACERS = 8
CITY = "Racetown"


@pytest.fixture
def racetown() -> Iterator[str]:
    """A serviceable city committed for real (racing sessions see no test transaction), for the
    addresses of `committed_user`; removed afterwards."""
    with Session(engine) as session:
        session.add(
            ServiceableLocation(
                city=CITY, city_key=CITY.lower(), zone="South", home_collection=True
            )
        )
        session.commit()
    yield CITY
    with Session(engine) as session:
        session.execute(delete(ServiceableLocation).where(ServiceableLocation.city == CITY))
        session.commit()


def race(user_id: int, is_default: bool) -> list[str]:
    """RACERS threads add an address at the same moment; returns each one's outcome."""
    barrier = threading.Barrier(RACERS)

    def add(index: int) -> str:
        with Session(engine) as session:
            # As in a request: authentication reads the user first, which (REPEATABLE READ)
            # fixes the transaction's snapshot before the service takes its locks.
            session.get(User, user_id)
            barrier.wait()
            try:
                create_address(
                    session,
                    user_id,
                    AddressIn(
                        label="home",
                        contact_name=f"Racer {index}",
                        contact_phone="+919876543210",
                        line1=f"{index} Main Road",
                        city=CITY,
                        state="Karnataka",
                        pincode="560001",
                        is_default=is_default,
                    ),
                )
                session.commit()
                return "added"
            except AddressLimitReached as exc:
                session.rollback()
                return exc.code

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(add, range(RACERS)))


def default_count(user_id: int) -> int:
    with Session(engine) as session:
        return len(
            session.scalars(
                select(Address.id).where(
                    Address.user_id == user_id,
                    Address.is_default.is_(True),
                    Address.is_deleted.is_(False),
                )
            ).all()
        )


@pytest.mark.concurrency
@requires_mariadb
@pytest.mark.usefixtures("racetown")
@pytest.mark.parametrize("is_default", [True, False])
def test_one_default_address_under_concurrent_adds(committed_user, is_default):
    assert race(committed_user, is_default) == ["added"] * RACERS
    assert default_count(committed_user) == 1


@pytest.mark.concurrency
@requires_mariadb
@pytest.mark.usefixtures("racetown")
def test_address_limit_holds_under_concurrent_adds(committed_user, settings, monkeypatch):
    monkeypatch.setattr(settings, "MAX_ADDRESSES_PER_USER", 3)
    outcomes = race(committed_user, is_default=False)
    assert outcomes.count("added") == 3
    assert outcomes.count("address_limit_reached") == RACERS - 3


@pytest.mark.concurrency
@requires_mariadb
@pytest.mark.usefixtures("racetown")
def test_one_default_address_when_defaults_are_moved_and_deleted_concurrently(committed_user):
    race(committed_user, is_default=False)
    with Session(engine) as session:
        ids = sorted(session.scalars(select(Address.id).where(Address.user_id == committed_user)))
    barrier = threading.Barrier(len(ids))

    def act(index: int) -> None:
        with Session(engine) as session:
            session.get(User, committed_user)
            barrier.wait()
            if index % 2:
                delete_address(session, committed_user, ids[index])
            else:
                update_address(
                    session, committed_user, ids[index], AddressUpdateIn(is_default=True)
                )
            session.commit()

    with ThreadPoolExecutor(len(ids)) as pool:
        list(pool.map(act, range(len(ids))))
    assert default_count(committed_user) == 1
