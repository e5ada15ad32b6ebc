from typing import Annotated

from fastapi import Query, Response, status

from Address_module.models import Address, ServiceableLocation
from Address_module.schemas import (
    AddressIn,
    AddressOut,
    AddressUpdateIn,
    LocationIn,
    LocationOut,
    LocationUpdateIn,
    ServiceabilityOut,
)
from Address_module.service import (
    ADDRESS_ROWS,
    Serviceability,
    create_address,
    create_location,
    delete_address,
    get_address,
    locations_query,
    serviceability,
    update_address,
    update_location,
)
from core.pagination import Page, Pagination, RowPage, page_of_rows, paginate
from core.pincodes import Pincode
from core.response_cache import public_cache
from core.routing import APIRouter, DbSession
from core.validation import RowId
from database import AnyRow
from deps import AdminUser, CurrentUser

router = APIRouter(prefix="/address", tags=["addresses"])


# Fixed paths are declared before `/{address_id}` so they are not read as an id.
@router.get("/serviceability", response_model=ServiceabilityOut)
@public_cache
def check_serviceability(
    db: DbSession,
    city: Annotated[str, Query(min_length=1, max_length=120)],
    pincode: Annotated[Pincode | None, Query()] = None,
) -> Serviceability:
    """Whether we collect samples in a city, and how (public; a pincode sent must be real)."""
    return serviceability(db, city)


@router.get("/admin/locations", response_model=Page[LocationOut])
def list_locations(
    db: DbSession,
    _admin: AdminUser,
    page: Pagination,
    q: Annotated[str | None, Query(max_length=120)] = None,
    is_active: bool | None = None,
) -> RowPage[ServiceableLocation]:
    """Serviceable locations, searchable by city (admin)."""
    return paginate(db, locations_query(q, is_active), page)


@router.post("/admin/locations", response_model=LocationOut, status_code=status.HTTP_201_CREATED)
def add_location(body: LocationIn, db: DbSession, admin: AdminUser) -> ServiceableLocation:
    """Add a serviceable location (admin)."""
    return create_location(db, admin.id, body)


@router.put("/admin/locations/{location_id}", response_model=LocationOut)
def change_location(
    location_id: RowId, body: LocationUpdateIn, db: DbSession, admin: AdminUser
) -> ServiceableLocation:
    """Change or switch off a serviceable location (admin)."""
    return update_location(db, admin.id, location_id, body)


@router.get("", response_model=Page[AddressOut])
def list_addresses(db: DbSession, user: CurrentUser, page: Pagination) -> RowPage[AnyRow]:
    """My addresses, the default first."""
    return page_of_rows(db, ADDRESS_ROWS, page, user_id=user.id)


@router.post("", response_model=AddressOut, status_code=status.HTTP_201_CREATED)
def add_address(body: AddressIn, db: DbSession, user: CurrentUser) -> Address:
    """Add an address in a serviceable city (my first one becomes the default)."""
    return create_address(db, user.id, body)


@router.get("/{address_id}", response_model=AddressOut)
def read_address(address_id: RowId, db: DbSession, user: CurrentUser) -> Address:
    """One of my addresses."""
    return get_address(db, user.id, address_id)


@router.put("/{address_id}", response_model=AddressOut)
def change_address(
    address_id: RowId, body: AddressUpdateIn, db: DbSession, user: CurrentUser
) -> Address:
    """Change an address (only the fields sent)."""
    return update_address(db, user.id, address_id, body)


@router.delete("/{address_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_address(address_id: RowId, db: DbSession, user: CurrentUser) -> Response:
    """Delete an address (the most recent other one becomes the default)."""
    delete_address(db, user.id, address_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
