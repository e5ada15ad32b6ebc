from fastapi import Response, status

from core.pagination import Page, Pagination, RowPage, page_of_rows
from core.routing import APIRouter, DbSession
from core.validation import RowId
from database import AnyRow
from deps import CurrentUser
from Member_module.models import Member
from Member_module.schemas import MemberIn, MemberOut, MemberUpdateIn
from Member_module.service import (
    MEMBER_ROWS,
    create_member,
    delete_member,
    get_member,
    update_member,
)

router = APIRouter(prefix="/member", tags=["members"])


@router.get("", response_model=Page[MemberOut])
def list_members(db: DbSession, user: CurrentUser, page: Pagination) -> RowPage[AnyRow]:
    """My family members."""
    return page_of_rows(db, MEMBER_ROWS, page, user_id=user.id)


@router.post("", response_model=MemberOut, status_code=status.HTTP_201_CREATED)
def add_member(body: MemberIn, db: DbSession, user: CurrentUser) -> Member:
    """Add a family member (at most one 'self')."""
    return create_member(db, user.id, body)


@router.get("/{member_id}", response_model=MemberOut)
def read_member(member_id: RowId, db: DbSession, user: CurrentUser) -> Member:
    """One of my family members."""
    return get_member(db, user.id, member_id)


@router.put("/{member_id}", response_model=MemberOut)
def change_member(
    member_id: RowId, body: MemberUpdateIn, db: DbSession, user: CurrentUser
) -> Member:
    """Change a family member's details (only the fields sent)."""
    return update_member(db, user.id, member_id, body)


@router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(member_id: RowId, db: DbSession, user: CurrentUser) -> Response:
    """Delete a family member (not while in the cart or on an unfinished order)."""
    delete_member(db, user.id, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
