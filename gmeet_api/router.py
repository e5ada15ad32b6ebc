from typing import Annotated

from fastapi import Query, status
from fastapi.responses import RedirectResponse

from config import get_settings
from core.pagination import Page, Pagination, RowPage, paginate
from core.response_cache import public_cache
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser, CurrentUser
from gmeet_api.answers import ConnectResult
from gmeet_api.availability import FreeSlots, free_slots
from gmeet_api.bookings import BookingRequest, book_session, cancel_booking, my_bookings_query
from gmeet_api.counsellors import (
    admin_counsellors_query,
    public_counsellors_query,
    update_counsellor,
)
from gmeet_api.deps import Availability, BookingCaller, CounsellorIdPath
from gmeet_api.errors import ConnectError
from gmeet_api.models import Booking, Counsellor
from gmeet_api.oauth import ConnectStart, complete_connect, start_connect
from gmeet_api.schemas import (
    AvailabilityOut,
    BookingIn,
    BookingOut,
    ConnectResultOut,
    ConnectUrlOut,
    CounsellorAdminOut,
    CounsellorOut,
    CounsellorUpdateIn,
)
from gmeet_api.utils import with_query

router = APIRouter(prefix="/gmeet", tags=["gmeet"])

OAuthParam = Annotated[str | None, Query(max_length=2048)]


@router.get(
    "/counsellor/connect",
    response_model=ConnectUrlOut,
    responses={302: {"description": "Redirect to Google's consent screen"}},
)
def connect_counsellor(return_url: bool = False) -> ConnectStart | RedirectResponse:
    """Start connecting a counsellor's Google Calendar (302 to Google, or the URL as JSON)."""
    started = start_connect()
    if return_url:
        return started
    return RedirectResponse(started.authorization_url, status_code=status.HTTP_302_FOUND)


@router.get(
    "/auth/callback",
    response_model=ConnectResultOut,
    responses={302: {"description": "Redirect to the frontend's success or error page"}},
)
def oauth_callback(
    db: DbSession, code: OAuthParam = None, state: OAuthParam = None, error: OAuthParam = None
) -> ConnectResult | RedirectResponse:
    """Google's redirect after consent: connects the counsellor, then sends them to the frontend."""
    settings = get_settings()
    try:
        result = complete_connect(db, code=code, state=state, error=error)
    except ConnectError as exc:
        if not settings.FRONTEND_COUNSELLOR_ERROR_URL:
            raise
        target = with_query(
            settings.FRONTEND_COUNSELLOR_ERROR_URL, {"error": exc.code, "message": exc.message}
        )
        return RedirectResponse(target, status_code=status.HTTP_302_FOUND)
    if not settings.FRONTEND_COUNSELLOR_SUCCESS_URL:
        return result
    body = ConnectResultOut.model_validate(result)
    params = {**body.model_dump(exclude={"is_new"}), "is_new": str(body.is_new).lower()}
    target = with_query(settings.FRONTEND_COUNSELLOR_SUCCESS_URL, params)
    return RedirectResponse(target, status_code=status.HTTP_302_FOUND)


@router.get("/counsellors", response_model=Page[CounsellorOut])
@public_cache
def list_counsellors(db: DbSession, page: Pagination) -> RowPage[Counsellor]:
    """Counsellors taking bookings."""
    return paginate(db, public_counsellors_query(), page)


@router.get("/availability", response_model=AvailabilityOut)
def availability(db: DbSession, query: Availability) -> FreeSlots:
    """Free 30-minute slots of a counsellor between start_time and end_time (Indian time)."""
    return free_slots(db, query.counsellor_id, query.start_time, query.end_time)


@router.post("/book", response_model=BookingOut, status_code=status.HTTP_201_CREATED)
def book(body: BookingIn, db: DbSession, user: CurrentUser) -> Booking:
    """Book a counselling session: a Calendar event with a Google Meet link."""
    return book_session(db, user, BookingRequest(**body.model_dump()))


@router.get("/bookings", response_model=Page[BookingOut])
def my_bookings(db: DbSession, user: CurrentUser, page: Pagination) -> RowPage[Booking]:
    """My counselling bookings, latest session first."""
    return paginate(db, my_bookings_query(user.id), page)


@router.delete("/appointment/{counsellor_id}/{booking_id}", response_model=BookingOut)
def cancel_appointment(
    counsellor_id: CounsellorIdPath,
    booking_id: RowId,
    db: DbSession,
    caller: BookingCaller,
    send_notifications: bool = True,
) -> Booking:
    """Cancel a booking (mine; admins: anyone's) and remove its Calendar event."""
    return cancel_booking(
        db,
        user_id=caller.user_id,
        is_admin=caller.is_admin,
        counsellor_id=counsellor_id,
        booking_id=booking_id,
        send_notifications=send_notifications,
    )


@router.get("/admin/counsellors", response_model=Page[CounsellorAdminOut])
def admin_list_counsellors(
    db: DbSession, _admin: AdminUser, page: Pagination
) -> RowPage[Counsellor]:
    """Admin: every counsellor, with connection status and approval."""
    return paginate(db, admin_counsellors_query(), page)


@router.put("/admin/counsellors/{counsellor_id}", response_model=CounsellorAdminOut)
def admin_update_counsellor(
    counsellor_id: CounsellorIdPath, body: CounsellorUpdateIn, db: DbSession, admin: AdminUser
) -> Counsellor:
    """Admin: approve or deactivate a counsellor, edit the profile and working hours."""
    return update_counsellor(db, admin.id, counsellor_id, body)
