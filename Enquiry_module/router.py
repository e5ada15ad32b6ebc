from typing import Annotated

from fastapi import Query, status

from core.pagination import Page, Pagination, RowPage, paginate
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser
from Enquiry_module import service
from Enquiry_module.answers import Received
from Enquiry_module.models import Enquiry, EnquiryStatus
from Enquiry_module.schemas import EnquiryCreatedOut, EnquiryIn, EnquiryOut, EnquiryStatusIn

router = APIRouter(prefix="/enquiries", tags=["enquiries"])


@router.post("", response_model=EnquiryCreatedOut, status_code=status.HTTP_201_CREATED)
def send_enquiry(body: EnquiryIn, db: DbSession) -> Received:
    """A bulk or corporate testing enquiry from the website (public; 5 an hour per IP, 3 a day
    per phone and per e-mail): its reference, an e-mail to sales, an acknowledgement to you."""
    return service.submit(db, body)


@router.get("/admin", response_model=Page[EnquiryOut])
def list_enquiries(
    db: DbSession,
    _admin: AdminUser,
    page: Pagination,
    status: EnquiryStatus | None = None,
    q: Annotated[str | None, Query(max_length=120)] = None,
) -> RowPage[Enquiry]:
    """Enquiries, newest first, by status and a search on reference, name, phone, e-mail or
    organisation (admin)."""
    return paginate(db, service.admin_query(status, q), page)


@router.get("/admin/{enquiry_id}", response_model=EnquiryOut)
def read_enquiry(enquiry_id: RowId, db: DbSession, _admin: AdminUser) -> Enquiry:
    """One enquiry with its history (admin)."""
    return service.get_enquiry(db, enquiry_id)


@router.put("/admin/{enquiry_id}", response_model=EnquiryOut)
def change_enquiry(
    enquiry_id: RowId, body: EnquiryStatusIn, db: DbSession, admin: AdminUser
) -> Enquiry:
    """Move an enquiry along new, contacted, converted, closed, with an optional note (admin;
    audited, kept in its history). Closing starts the retention clock."""
    return service.change_status(db, admin.id, enquiry_id, body)
