from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime

from Audit_module.models import AuditLog
from Audit_module.schemas import AuditEntryOut
from Audit_module.service import audit_query
from config import get_settings
from core.pagination import Page, Pagination, RowPage, paginate
from core.routing import APIRouter, DbSession
from deps import AdminUser, CurrentUser

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryOut])
def list_audit(
    db: DbSession,
    _admin: AdminUser,
    page: Pagination,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    to: Annotated[AwareDatetime | None, Query()] = None,
) -> RowPage[AuditLog]:
    """Search the audit trail (admin)."""
    statement = audit_query(
        entity_type=entity_type,
        entity_id=entity_id,
        actor_user_id=actor_user_id,
        action=action,
        created_from=from_,
        created_to=to,
    )
    filters = (entity_type, entity_id, actor_user_id, action, from_, to)
    return paginate(
        db,
        statement,
        page,
        total_key=f"audit:{filters!r}",
        total_max_age=get_settings().ADMIN_LIST_TOTAL_SECONDS,
    )


@router.get("/me", response_model=Page[AuditEntryOut])
def my_audit(db: DbSession, user: CurrentUser, page: Pagination) -> RowPage[AuditLog]:
    """My own audit trail: what I did."""
    return paginate(db, audit_query(actor_user_id=user.id), page)
