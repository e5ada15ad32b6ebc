"""The gateway's callbacks (under the bridge prefix /abdm), the customer's ABHA view and link
action, and the operators' views of links and transfers."""

from typing import Annotated, Any

from fastapi import Body, Header, Path, Response, status
from sqlalchemy import select

from Abdm_module import service
from Abdm_module.answers import AbhaView
from Abdm_module.errors import InvalidCallback, UnknownCallback
from Abdm_module.gateway import InvalidCallbackToken, verify_callback
from Abdm_module.messages import CALLBACKS, store_callback
from Abdm_module.models import AbdmCareContext, AbdmTransfer, LinkStatus, TransferState
from Abdm_module.schemas import AdminLinkOut, AdminTransferOut, CareContextOut, MemberAbhaOut
from core.pagination import Page, Pagination, RowPage, paginate
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser, CurrentUser
from Member_module.service import get_member
from Orders_module.deps import ReadableOrder

router = APIRouter(tags=["abdm"])

RequestId = Annotated[str, Header(alias="REQUEST-ID", min_length=1, max_length=64)]


@router.post(
    "/abdm/api/v3/{callback:path}",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
)
def gateway_callback(
    callback: Annotated[str, Path(max_length=100)],
    request_id: RequestId,
    db: DbSession,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header(max_length=8192)] = None,
) -> Response:
    """A callback from the ABDM gateway (its RS256 token checked against the gateway's keys):
    202 at once, kept once per REQUEST-ID, processed by the background job."""
    service.require_enabled()
    path = f"/api/v3/{callback}"
    if path not in CALLBACKS:
        raise UnknownCallback()
    try:
        verify_callback(authorization)
    except InvalidCallbackToken as exc:
        raise InvalidCallback() from exc
    store_callback(db, path, request_id, body)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.get("/member/{member_id}/abha", response_model=MemberAbhaOut)
def member_abha(member_id: RowId, user: CurrentUser, db: DbSession) -> AbhaView:
    """The member's ABHA (number masked) and which of their reports are linked to it."""
    member = get_member(db, user.id, member_id)
    return AbhaView.of(member, service.care_contexts_of(db, member.id))


@router.post(
    "/orders/{order_id}/items/{item_id}/abha-link",
    response_model=CareContextOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def link_report(
    order: ReadableOrder, item_id: RowId, user: CurrentUser, db: DbSession
) -> AbdmCareContext:
    """Link this report to the member's ABHA now (again after a failure): `pending` until the
    gateway confirms, then `linked` (409 `abha_missing`, `report_not_ready`)."""
    return service.link_now(db, user.id, order, item_id)


@router.get("/abdm/admin/links", response_model=Page[AdminLinkOut])
def admin_links(
    db: DbSession, _admin: AdminUser, page: Pagination, state: LinkStatus | None = None
) -> RowPage[AbdmCareContext]:
    """Care contexts, newest first, by state (`pending`, `linked`, `failed`), with the gateway's
    error code (admin)."""
    statement = select(AbdmCareContext).order_by(AbdmCareContext.id.desc())
    if state is not None:
        statement = statement.where(AbdmCareContext.status == state)
    return paginate(db, statement, page)


@router.get("/abdm/admin/transfers", response_model=Page[AdminTransferOut])
def admin_transfers(
    db: DbSession, _admin: AdminUser, page: Pagination, state: TransferState | None = None
) -> RowPage[AbdmTransfer]:
    """Requests for health information and their pushes, newest first, by state (admin)."""
    statement = select(AbdmTransfer).order_by(AbdmTransfer.id.desc())
    if state is not None:
        statement = statement.where(AbdmTransfer.state == state)
    return paginate(db, statement, page)
