"""The newsletter: the public sign-up, the pages behind the e-mails' links, my subscription,
and the admin's list and export."""

from typing import Annotated, Any

from fastapi import Query, Response
from fastapi.responses import HTMLResponse

from core.pagination import Page, Pagination, RowPage, paginate
from core.routing import APIRouter, DbSession
from deps import AdminUser, CurrentUser, OptionalUser
from Newsletter_module import csv_export, pages, service
from Newsletter_module.answers import MySubscription
from Newsletter_module.links import Purpose
from Newsletter_module.models import NewsletterSubscription, SubscriptionStatus
from Newsletter_module.schemas import (
    MySubscriptionChangedOut,
    MySubscriptionIn,
    MySubscriptionOut,
    SubscribeIn,
    SubscribeOut,
    SubscriberOut,
)

router = APIRouter(prefix="/newsletter", tags=["newsletter"])

ACCEPTED = (
    "If this address can receive e-mail, a message with a confirmation link is on its way; "
    "the subscription starts once the link is opened and confirmed."
)
LinkToken = Annotated[
    str, Query(max_length=200, description="The token from the link in the e-mail")
]
PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "A small HTML page"},
    400: {
        "content": {"text/html": {}},
        "description": "The link is not valid or has expired: a page saying so",
    },
}
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The confirmed subscribers (CSV)"}
}


@router.post("/subscribe", response_model=SubscribeOut, status_code=202)
def subscribe(body: SubscribeIn, db: DbSession, user: OptionalUser) -> SubscribeOut:
    """Ask for the newsletter: a confirmation e-mail (double opt-in). Always the same 202,
    whatever the address's state; a logged-in caller's account is linked on confirmation."""
    service.request_confirmation(db, body.email, user.id if user is not None else None)
    return SubscribeOut(message=ACCEPTED)


@router.get("/confirm", response_class=HTMLResponse, responses=PAGE)
def confirm_page(db: DbSession, token: LinkToken = "") -> HTMLResponse:
    """The confirmation link's page: what is agreed to, and a Confirm button (opening the link
    alone confirms nothing: mail scanners open links)."""
    found = service.by_token(db, Purpose.CONFIRM, token)
    if found is None:
        return pages.invalid_link_page()
    return pages.confirm_page(found[0].email, token)


@router.post("/confirm", response_class=HTMLResponse, responses=PAGE)
def confirm(db: DbSession, token: LinkToken = "") -> HTMLResponse:
    """The Confirm button: subscribed, the consent recorded (time, IP, the text's version)."""
    subscription = service.confirm(db, token)
    if subscription is None:
        return pages.invalid_link_page()
    return pages.confirmed_page(subscription.email)


@router.get("/unsubscribe", response_class=HTMLResponse, responses=PAGE)
def unsubscribe_page(db: DbSession, token: LinkToken = "") -> HTMLResponse:
    """The unsubscribe link's page, with its button."""
    found = service.by_token(db, Purpose.UNSUBSCRIBE, token)
    if found is None:
        return pages.invalid_link_page()
    return pages.unsubscribe_page(found[0].email, token)


@router.post("/unsubscribe", response_class=HTMLResponse, responses=PAGE)
def unsubscribe(db: DbSession, token: LinkToken = "") -> HTMLResponse:
    """Unsubscribe at once, no login: the page's button, or a mail client's RFC 8058 one-click
    POST (`List-Unsubscribe=One-Click`)."""
    subscription = service.unsubscribe(db, token)
    if subscription is None:
        return pages.invalid_link_page()
    return pages.unsubscribed_page(subscription.email)


@router.get("/me", response_model=MySubscriptionOut)
def my_subscription(db: DbSession, user: CurrentUser) -> MySubscription:
    """My subscription (the one a confirmation linked to my account)."""
    return MySubscription.of(service.my_subscription(db, user.id))


@router.put("/me", response_model=MySubscriptionChangedOut)
def change_my_subscription(
    body: MySubscriptionIn, db: DbSession, user: CurrentUser
) -> MySubscription:
    """Off: unsubscribed at once. On: a confirmation e-mail (to `email`, else my subscription's
    or my profile's address), unless that address is subscribed already."""
    subscription, sent = service.set_my_subscription(db, user, body.subscribed, body.email)
    return MySubscription.of(subscription, confirmation_sent=sent)


@router.get("/admin/subscribers", response_model=Page[SubscriberOut])
def subscribers(
    db: DbSession,
    admin: AdminUser,
    page: Pagination,
    status: Annotated[SubscriptionStatus | None, Query()] = None,
) -> RowPage[NewsletterSubscription]:
    """Every sign-up, newest first, by status (admin)."""
    return paginate(db, service.subscribers_query(status), page)


@router.get("/admin/export.csv", response_class=Response, responses=CSV)
def export_subscribers(db: DbSession, admin: AdminUser) -> Response:
    """The confirmed subscribers as CSV, each with their unsubscribe URL (admin; audited)."""
    return Response(
        content=csv_export.confirmed_subscribers_csv(db, admin.id),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{csv_export.export_filename()}"',
            "Cache-Control": "no-store",
        },
    )
