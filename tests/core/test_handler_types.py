"""Every handler says what it returns: the row, the answer dataclass, the `*Out` schema, the
page or the `Response` it builds. `dict`, `object`, `Any`, a bare container or no annotation
at all tell the reader (and mypy) nothing; FastAPI shapes the answer with `response_model`
either way, so a precise annotation costs nothing at run time."""

import inspect
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypedDict, Union, get_args, get_origin, get_type_hints

from fastapi import Response
from fastapi.routing import APIRoute, iter_route_contexts

from main import app
from Member_module.models import Member

BARE = (dict, list, tuple, set, frozenset, Mapping, Sequence)
MISSING = inspect.Signature.empty


def handlers() -> Iterator[tuple[str, Any]]:
    """(`METHOD /path`, the handler as written) for every operation of the app."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            name = f"{' '.join(sorted(route.methods))} {context.path_format}"
            yield name, inspect.unwrap(route.endpoint)


def returned(handler: Any) -> Any:
    return get_type_hints(handler).get("return", MISSING)


def says_nothing(annotation: Any) -> bool:
    """Whether a return annotation leaves what is returned unsaid."""
    if annotation is MISSING or annotation in (Any, object, *BARE):
        return True
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(says_nothing(member) for member in get_args(annotation))
    if origin in (dict, Mapping):
        return True  # a TypedDict, a dataclass or a schema names its keys
    return origin in BARE and any(says_nothing(arg) for arg in get_args(annotation))


class Shape(TypedDict):
    name: str


def test_the_check_knows_an_untyped_answer_from_a_typed_one() -> None:
    for untyped in (MISSING, dict, dict[str, Any], dict[str, int], object, Any, list, list[Any]):
        assert says_nothing(untyped), untyped
    assert says_nothing(Member | dict[str, Any])
    for typed in (Member, list[Member], Sequence[Member], Shape, Response, Member | Response):
        assert not says_nothing(typed), typed


def test_every_handler_is_annotated_with_what_it_returns() -> None:
    found = dict(handlers())
    assert len(found) > 100 and "GET /member/{member_id}" in found
    untyped = {
        name: str(returned(handler))
        for name, handler in found.items()
        if says_nothing(returned(handler))
    }
    assert not untyped, f"annotate these handlers with the type they return: {untyped}"
