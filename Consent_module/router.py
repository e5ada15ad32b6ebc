from typing import Annotated

from fastapi import Query, status

from Consent_module import service
from Consent_module.answers import ConsentTypeWithVersions, GrantWithState
from Consent_module.models import ConsentType
from Consent_module.schemas import (
    ConsentCode,
    ConsentTypeCreateIn,
    ConsentTypeDetailOut,
    ConsentTypeOut,
    ConsentTypeUpdateIn,
    ConsentVersionIn,
    GrantIn,
    GrantOut,
)
from core.pagination import Page, Pagination, RowPage, paginate
from core.response_cache import public_cache
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser, CurrentUser

router = APIRouter(prefix="/consent", tags=["consent"])


@router.get("/types", response_model=list[ConsentTypeOut])
@public_cache
def list_consent_types(db: DbSession) -> list[ConsentType]:
    """The consents in use, each at its current version."""
    return service.list_types(db)


@router.get("/types/{code}", response_model=ConsentTypeDetailOut)
@public_cache
def consent_type_detail(code: ConsentCode, db: DbSession) -> ConsentTypeWithVersions:
    """One consent with the text of every version ever published."""
    return service.type_with_versions(db, code)


@router.post("", response_model=GrantOut, status_code=status.HTTP_201_CREATED)
def grant(body: GrantIn, db: DbSession, user: CurrentUser) -> GrantWithState:
    """Give a member's consent to the current version of a consent text."""
    created = service.grant_consent(db, user.id, body.member_id, body.code, body.version)
    return service.with_states(db, [created])[0]


@router.get("", response_model=Page[GrantOut])
def my_grants(
    db: DbSession,
    user: CurrentUser,
    page: Pagination,
    member_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> RowPage[GrantWithState]:
    """My consents, newest first, withdrawn and outdated ones included (the full history)."""
    result = paginate(db, service.grants_query(user.id, member_id), page)
    return result.with_items(service.with_states(db, result.items))


@router.post("/{grant_id}/withdraw", response_model=GrantOut)
def withdraw(grant_id: RowId, db: DbSession, user: CurrentUser) -> GrantWithState:
    """Withdraw a consent (one call); its history is kept."""
    withdrawn = service.withdraw_consent(db, user.id, grant_id)
    return service.with_states(db, [withdrawn])[0]


# --- admin -----------------------------------------------------------------------------------


@router.post("/types", response_model=ConsentTypeOut, status_code=status.HTTP_201_CREATED)
def create_consent_type(body: ConsentTypeCreateIn, db: DbSession, admin: AdminUser) -> ConsentType:
    """Create a consent text at version 1 (admin)."""
    return service.create_type(db, body.code, body.title, body.body, admin.id)


@router.post(
    "/types/{code}/versions", response_model=ConsentTypeOut, status_code=status.HTTP_201_CREATED
)
def publish_consent_version(
    code: ConsentCode, body: ConsentVersionIn, db: DbSession, admin: AdminUser
) -> ConsentType:
    """Publish a new version; grants of older versions stop counting (admin)."""
    return service.publish_version(db, code, body.title, body.body, admin.id)


@router.put("/types/{code}", response_model=ConsentTypeOut)
def update_consent_type(
    code: ConsentCode, body: ConsentTypeUpdateIn, db: DbSession, admin: AdminUser
) -> ConsentType:
    """Switch a consent on or off; an inactive one is no longer required (admin)."""
    return service.set_type_active(db, code, body.active, admin.id)
