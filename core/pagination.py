"""`?limit=&offset=` parameters and the `{items, total, limit, offset}` page shape."""

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    offset: int = 0


# `async`: no I/O here, so no threadpool hop for it on every list request.
async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Pagination = Annotated[PageParams, Depends(page_params)]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(db: Session, statement: Select[Any], params: PageParams) -> dict[str, Any]:
    """Run `statement` for one page plus its total; returns the Page fields (ORM items)."""
    total = db.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    items = db.scalars(statement.limit(params.limit).offset(params.offset)).all()
    return {"items": list(items), "total": total, "limit": params.limit, "offset": params.offset}
