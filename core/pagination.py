"""`?limit=&offset=` parameters and the `{items, total, limit, offset}` page shape."""

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar, overload

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

from core.redis import get_redis
from database import AnyRow, read_rows

logger = logging.getLogger("nucleotide.pagination")

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
U = TypeVar("U")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class RowPage(Generic[T]):
    """One page of rows, as a `Page[...]` schema reads it (by attribute)."""

    items: list[T]
    total: int
    limit: int
    offset: int

    def with_items(self, items: list[U]) -> "RowPage[U]":
        """The same page holding `items` (each row made into its answer)."""
        return RowPage(items, self.total, self.limit, self.offset)


@overload
def paginate(
    db: Session,
    statement: Select[T],
    params: PageParams,
    *,
    total_key: str | None = None,
    total_max_age: float = 0,
    as_rows: Literal[False] = False,
) -> RowPage[T]: ...


@overload
def paginate(
    db: Session,
    statement: Select[Any],
    params: PageParams,
    *,
    total_key: str | None = None,
    total_max_age: float = 0,
    as_rows: Literal[True],
) -> RowPage[Row[Any]]: ...


def paginate(
    db: Session,
    statement: Select[Any],
    params: PageParams,
    *,
    total_key: str | None = None,
    total_max_age: float = 0,
    as_rows: bool = False,
) -> RowPage[Any]:
    """Run `statement` for one page plus its total: ORM items, or with `as_rows` the rows of
    a column select (no entity loaded; schemas read them by attribute).

    A page shorter than `limit` (and not an empty one past the end) tells the total itself:
    no count query. Otherwise the total is counted; with `total_key` (naming the list and every
    filter) and `total_max_age` > 0 it may be that many seconds old, shared by every replica in
    Redis: for lists over whole tables (the admin's orders, the audit trail), whose exact count
    costs a scan growing with the table. The items are always read afresh."""
    result = db.execute(statement.limit(params.limit).offset(params.offset))
    items = list(result) if as_rows else list(result.scalars())
    if len(items) < params.limit and (items or params.offset == 0):
        return RowPage(items, params.offset + len(items), params.limit, params.offset)
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    key = f"page:total:{total_key}" if total_key and total_max_age > 0 else None
    total = _recent_total(key) if key else None
    if total is None:
        total = db.scalar(count) or 0
        if key:
            _keep_total(key, total, total_max_age)
    return RowPage(items, total, params.limit, params.offset)


def _recent_total(key: str) -> int | None:
    try:
        value = get_redis().get(key)
    except Exception as exc:  # no Redis: count exactly
        logger.warning("list total not cached: %s", type(exc).__name__)
        return None
    return int(value) if value is not None else None


def _keep_total(key: str, total: int, max_age: float) -> None:
    try:
        get_redis().set(key, total, px=max(1, int(max_age * 1000)))
    except Exception as exc:
        logger.warning("list total not cached: %s", type(exc).__name__)


# The limited and counting forms of each statement `page_of_rows` was given (module constants,
# so this stays small), made once. Keyed by the statement itself (held here, so its identity is
# never reused by another).
_PAGED: dict[Select[Any], tuple[Select[Any], Select[Any]]] = {}


def page_of_rows(
    db: Session, statement: Select[Any], params: PageParams, **binds: Any
) -> RowPage[AnyRow]:
    """`paginate(..., as_rows=True)` for a column select built once, with `bindparam`s whose
    values are `binds` (database.read_rows: no statement built or cache key computed per
    request). The same total rule: a short page tells it, a full one counts."""
    paged = _PAGED.get(statement)
    if paged is None:
        paged = _PAGED[statement] = (
            statement.limit(bindparam("page_limit")).offset(bindparam("page_offset")),
            select(func.count()).select_from(statement.order_by(None).subquery()),
        )
    limited, counted = paged
    items = list(
        read_rows(db, limited, page_limit=params.limit, page_offset=params.offset, **binds)
    )
    if len(items) < params.limit and (items or params.offset == 0):
        return RowPage(items, params.offset + len(items), params.limit, params.offset)
    total = read_rows(db, counted, **binds)[0][0]
    return RowPage(items, int(total), params.limit, params.offset)
