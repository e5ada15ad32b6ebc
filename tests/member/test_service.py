"""Member rules under real concurrency (MariaDB: real commits and row locks)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy.orm import Session

from database import engine
from Login_module.models import User
from Member_module.errors import MemberLimitReached, SelfMemberExists
from Member_module.schemas import MemberIn
from Member_module.service import create_member
from tests.support.database import requires_mariadb

RACERS = 8


def race(user_id: int, relation: str) -> list[str]:
    """RACERS threads add a member at the same moment; returns each one's outcome."""
    barrier = threading.Barrier(RACERS)

    def add(index: int) -> str:
        with Session(engine) as session:
            # As in a request: authentication reads the user first, which (REPEATABLE READ)
            # fixes the transaction's snapshot before the service takes its locks.
            session.get(User, user_id)
            barrier.wait()
            try:
                create_member(
                    session,
                    user_id,
                    MemberIn(
                        name=f"Racer {index}",
                        relation=relation,
                        date_of_birth=date(1990, 1, 1),
                        gender="other",
                    ),
                )
                session.commit()
                return "added"
            except (MemberLimitReached, SelfMemberExists) as exc:
                session.rollback()
                return exc.code

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(add, range(RACERS)))


@pytest.mark.concurrency
@requires_mariadb
def test_member_limit_holds_under_concurrent_adds(committed_user, settings, monkeypatch):
    monkeypatch.setattr(settings, "MAX_MEMBERS_PER_USER", 3)
    outcomes = race(committed_user, "child")
    assert outcomes.count("added") == 3
    assert outcomes.count("member_limit_reached") == RACERS - 3


@pytest.mark.concurrency
@requires_mariadb
def test_only_one_self_member_under_concurrent_adds(committed_user):
    outcomes = race(committed_user, "self")
    assert outcomes.count("added") == 1
    assert outcomes.count("self_member_exists") == RACERS - 1
