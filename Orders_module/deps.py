"""Request parameters of the routes under /orders (Orders', and the modules that serve there:
reports, invoices, collection)."""

from typing import Annotated

from fastapi import Depends

from core.routing import DbSession
from core.validation import RowId
from deps import CurrentAuth
from Orders_module.models import Order
from Orders_module.service import get_order


def readable_order(order_id: RowId, auth: CurrentAuth, db: DbSession) -> Order:
    """The order in the path, with everything loaded: the caller's own, or any order for an
    admin; anyone else's is 404 `order_not_found`."""
    return get_order(db, order_id, user_id=None if auth.is_admin else auth.user.id)


ReadableOrder = Annotated[Order, Depends(readable_order)]
