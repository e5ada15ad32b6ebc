from typing import Annotated

from fastapi import Path, Query, status

from Consent_module.Request import service
from Consent_module.Request.answers import RequestAnswer
from Consent_module.Request.models import ConsentRequestStatus
from Consent_module.Request.schemas import (
    ConfirmedOut,
    ConfirmIn,
    ConsentRequestIn,
    ConsentRequestOut,
    DeclinedOut,
    LinkToken,
    MemberViewOut,
    WithdrawalCodeIn,
    WithdrawByPhoneIn,
    WithdrawnOut,
)
from core.pagination import Page, Pagination, RowPage, paginate
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import CurrentUser
from Login_module.OTP.service import CodeSent, send_otp
from Login_module.schemas import SendOtpOut

router = APIRouter(prefix="/consent", tags=["consent"])
Token = Annotated[LinkToken, Path(description="The token from the link in the member's SMS")]


@router.post("/requests", response_model=ConsentRequestOut, status_code=status.HTTP_201_CREATED)
def start_request(body: ConsentRequestIn, db: DbSession, user: CurrentUser) -> RequestAnswer:
    """Ask an adult member to confirm their own consents: an SMS with a link and a code."""
    return service.answer(service.create_request(db, user.id, body.member_id, body.codes))


@router.post("/requests/{request_id}/resend", response_model=ConsentRequestOut)
def resend_request(request_id: RowId, db: DbSession, user: CurrentUser) -> RequestAnswer:
    """A new link and code to the member (the earlier ones stop working)."""
    return service.answer(service.resend(db, user.id, request_id))


@router.get("/requests", response_model=Page[ConsentRequestOut])
def my_requests(
    db: DbSession,
    user: CurrentUser,
    page: Pagination,
    member_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> RowPage[RequestAnswer]:
    """My consent requests, newest first, with their status."""
    result = paginate(db, service.requests_query(user.id, member_id), page)
    return result.with_items([service.answer(request) for request in result.items])


@router.get("/requests/by-token/{token}", response_model=MemberViewOut)
def member_view(token: Token, db: DbSession) -> service.MemberView:
    """The member's page (public, by the link): who asks, and the exact texts and versions."""
    return service.member_view(db, token)


@router.post(
    "/requests/by-token/{token}/confirm",
    response_model=ConfirmedOut,
)
def confirm_request(token: Token, body: ConfirmIn, db: DbSession) -> ConfirmedOut:
    """The member confirms with the code from their SMS; the consents are recorded as theirs."""
    grants = service.confirm(db, token, body.otp)
    return ConfirmedOut.model_validate(
        {"status": ConsentRequestStatus.CONFIRMED, "consents": grants}, from_attributes=True
    )


@router.post(
    "/requests/by-token/{token}/decline",
    response_model=DeclinedOut,
)
def decline_request(token: Token, db: DbSession) -> DeclinedOut:
    """The member declines; nothing is granted."""
    return DeclinedOut(status=service.decline(db, token).status)


@router.post("/withdraw-by-phone/code", response_model=SendOtpOut, status_code=202)
def withdrawal_code(body: WithdrawalCodeIn, db: DbSession) -> CodeSent:
    """A code to the member's phone, to withdraw what they confirmed (login code limits)."""
    return send_otp(db, body.phone)


@router.post("/withdraw-by-phone", response_model=WithdrawnOut)
def withdraw_by_phone(body: WithdrawByPhoneIn, db: DbSession) -> WithdrawnOut:
    """The member withdraws the consents they confirmed from this phone (all, or `codes`)."""
    grants = service.withdraw_by_phone(db, body.phone, body.otp, body.codes)
    return WithdrawnOut.model_validate({"withdrawn": grants}, from_attributes=True)
