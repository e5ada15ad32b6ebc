"""The dependency a newcomer writes works as declared: a synchronous or `async` dependency that
takes the caller (`CurrentUser`, `CurrentAuth`) and the session gets the caller itself."""

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.errors import install_error_handlers
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import CurrentAuth, CurrentUser
from Login_module.snapshot import UserSnapshot
from Member_module.errors import MemberNotFound
from Member_module.models import Member
from tests.support.factories.member import make_member
from tests.support.http import assert_error
from tests.support.login import login


def owned_member(member_id: RowId, user: CurrentUser, db: DbSession) -> Member:
    """What a newcomer writes: the caller's member, or 404."""
    member = db.get(Member, member_id)
    if member is None or member.user_id != user.id:
        raise MemberNotFound()
    return member


async def caller_name(auth: CurrentAuth) -> str:
    return f"{auth.user.id}:{auth.role}"


def named_member(member: Annotated[Member, Depends(owned_member)], user: CurrentUser) -> str:
    """A dependency on a dependency that takes the caller."""
    return f"{member.name} of {user.id}"


router = APIRouter(prefix="/probe")


@router.get("/members/{member_id}")
def member_probe(
    member: Annotated[Member, Depends(owned_member)],
    name: Annotated[str, Depends(caller_name)],
    label: Annotated[str, Depends(named_member)],
    user: CurrentUser,
) -> dict[str, Any]:
    assert isinstance(user, UserSnapshot)
    return {"member": member.name, "caller": name, "label": label}


@pytest.fixture
def probe(db: Session) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


def test_a_dependency_taking_the_caller_gets_the_caller(
    client: TestClient, probe: TestClient, db: Session, worker_calls: list[str]
) -> None:
    me = login(client, "+919876500081")
    other = login(client, "+919876500082")
    mine = make_member(db, me.user_id, name="Asha")
    theirs = make_member(db, other.user_id, name="Ravi")
    answer = probe.get(f"/probe/members/{mine.id}", headers=me.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "member": "Asha",
        "caller": f"{me.user_id}:user",
        "label": f"Asha of {me.user_id}",
    }
    assert_error(
        probe.get(f"/probe/members/{theirs.id}", headers=me.headers), 404, "member_not_found"
    )
    assert_error(probe.get(f"/probe/members/{mine.id}"), 401, "not_authenticated")
    # The synchronous dependencies ran in worker threads, the async one on the event loop.
    worker_calls.clear()
    assert probe.get(f"/probe/members/{mine.id}", headers=me.headers).status_code == 200
    assert {"get_auth", "owned_member", "named_member"} <= set(worker_calls)
    assert "caller_name" not in worker_calls
