"""Which errors each route can answer, read from the code behind it (for the OpenAPI schema).

A route's errors are the `AppError` subclasses its handler and dependencies can raise, directly
or through the project functions they call, found by reading their source with `ast`: every
error class the reachable code names (in a `raise`, a helper that returns one, a mapping of
them) counts, except where it is only caught (`except X:`), tested (`isinstance(e, X)`) or
read (`InvalidPincode.code`). Names are resolved through each function's module globals and
closure, so `service.get_order` leads to `Orders_module/service.py`'s function and from there
to what it calls. A project class named on the way is read whole (its methods, validators,
field types and project base classes), since which method is called on one of its instances
cannot be told statically. Run-time values are followed too: a hook's connected handlers, the
validator inside an `Annotated` type, the function behind `functools.cache`. Decorators are
not (they run when a module is imported), and an object only held by another one adds its
class, not its contents, so one registry (a router's routes, the list of all hooks) does not
lead everywhere. Libraries are not read; only this repository's files, tests excepted.

It over-approximates on purpose: an error a caller catches, or a branch a route never takes,
still counts. A documented code that never happens costs a client one unused branch; a missing
one breaks the contract (tests/documented_errors.py fails any test that receives one). Request
parameters and bodies add what validation can answer: 422 `validation_error`, and the pydantic
error types that are product codes (`core.errors.CODED_VALIDATION_TYPES`, e.g.
`invalid_phone`) raised by their validators. Reading every route takes about half a second;
core/openapi.py does it once, when the schema is first built.
"""

import ast
import functools
import inspect
import linecache
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from pydantic_core import PydanticCustomError

from core.errors import CODED_VALIDATION_TYPES, AppError, error_response

ROOT = Path(__file__).resolve().parents[1]
_EXCLUDED = (ROOT / ".venv", ROOT / "tests")
_MISSING = object()


@dataclass(frozen=True, order=True)
class Answer:
    """One error answer: its status, its stable code, and a message it is sent with."""

    status: int
    code: str
    message: str


@dataclass
class _Facts:
    """What one function or class names directly: errors, coded validation types, and the
    project functions and classes (or run-time values holding them) to read next."""

    errors: set[type[AppError]] = field(default_factory=set)
    coded: dict[str, str] = field(default_factory=dict)
    units: list[Any] = field(default_factory=list)


@functools.cache
def _is_project_file(filename: str) -> bool:
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return False
    if not path.is_relative_to(ROOT) or path.suffix != ".py":
        return False
    if {"site-packages", "dist-packages"} & set(path.parts):
        return False  # a virtualenv inside the repository
    return not any(path.is_relative_to(excluded) for excluded in _EXCLUDED)


def _is_project_function(value: Any) -> bool:
    return isinstance(value, types.FunctionType) and _is_project_file(value.__code__.co_filename)


def _is_project_class(value: Any) -> bool:
    if not isinstance(value, type):
        return False
    module = sys.modules.get(value.__module__)
    filename = getattr(module, "__file__", None)
    return filename is not None and _is_project_file(filename)


@functools.cache
def _tree(filename: str) -> ast.Module:
    return ast.parse(Path(filename).read_text(encoding="utf-8"), filename)


def _last_line(code: types.CodeType) -> int:
    """The last source line of a code object, its nested functions' included."""
    lines = [end for *_, end, _, _ in code.co_positions() if end is not None]
    lines += [_last_line(c) for c in code.co_consts if isinstance(c, types.CodeType)]
    return max(lines, default=code.co_firstlineno)


def _function_nodes(code: types.CodeType) -> list[ast.AST]:
    """The syntax tree of a function: its own lines parsed alone (a file is parsed whole, which
    costs more, only for a lambda or lines that do not parse on their own)."""
    if code.co_name != "<lambda>":
        lines = linecache.getlines(code.co_filename)[code.co_firstlineno - 1 : _last_line(code)]
        try:
            nodes = ast.parse(textwrap.dedent("".join(lines))).body[:1]
        except SyntaxError:
            nodes = []
        if nodes and getattr(nodes[0], "name", None) == code.co_name:
            return list(nodes)
    candidates = [
        node
        for node in ast.walk(_tree(code.co_filename))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        and getattr(node, "name", "<lambda>") == code.co_name
    ]
    # The one whose lines match; else (the file changed since it was imported) every one.
    return [
        node
        for node in candidates
        if code.co_firstlineno
        in (node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ())))
    ] or list(candidates)


def _not_raised_here(node: ast.AST) -> Iterator[ast.AST]:
    """Parts of `node` that name things without raising them when the code runs: `except X:`,
    `isinstance(e, X)`, and decorators (run once, when the function is defined, e.g. the
    `@router.post(...)` that registers a handler)."""
    if isinstance(node, ast.ExceptHandler) and node.type is not None:
        yield node.type
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield from node.decorator_list
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("isinstance", "issubclass")
        and len(node.args) == 2
    ):
        yield node.args[1]


class _Namespace:
    """Resolves names and dotted names the way the code would at run time, without running
    anything: only modules, classes and project objects are looked into."""

    def __init__(self, globals_: dict[str, Any], closure: dict[str, Any]) -> None:
        self.globals = globals_
        self.closure = closure

    def resolve(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            if node.id in self.closure:
                return self.closure[node.id]
            return self.globals.get(node.id, _MISSING)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return _MISSING if base is _MISSING else _attribute(base, node.attr)
        if isinstance(node, ast.Constant):
            return node.value
        return _MISSING


def _attribute(base: Any, name: str) -> Any:
    if isinstance(base, types.ModuleType):
        return getattr(base, name, _MISSING)
    if isinstance(base, type) or _is_project_class(type(base)):
        try:
            value = inspect.getattr_static(base, name)
        except AttributeError:
            return _MISSING
        if isinstance(value, staticmethod | classmethod):
            return value.__func__
        if isinstance(value, property):
            return value.fget
        return value
    return _MISSING


def _closure_of(function: types.FunctionType) -> dict[str, Any]:
    cells = function.__closure__ or ()
    values: dict[str, Any] = {}
    for name, cell in zip(function.__code__.co_freevars, cells, strict=True):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # an empty cell: assigned later in the enclosing function
            continue
    return values


def _read(roots: Iterable[ast.AST], namespace: _Namespace) -> _Facts:
    facts = _Facts()
    for root in roots:
        skipped: set[int] = set()
        for node in ast.walk(root):  # parents come before their children
            if id(node) in skipped:
                continue
            for part in _not_raised_here(node):
                skipped.update(id(n) for n in ast.walk(part))
            if isinstance(node, ast.Call) and node.args:
                _coded_validation(node, namespace, facts)
            if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
                value = namespace.resolve(node)
                if value is not _MISSING:
                    _collect(value, facts)
                if isinstance(node, ast.Attribute) and _reads_error_data(node, value, namespace):
                    skipped.add(id(node.value))
    return facts


def _reads_error_data(node: ast.Attribute, value: Any, namespace: _Namespace) -> bool:
    """`InvalidPincode.code`: reads an error's code or message; it raises nothing."""
    if callable(value):
        return False
    base = namespace.resolve(node.value)
    return isinstance(base, type) and issubclass(base, AppError)


def _coded_validation(call: ast.Call, namespace: _Namespace, facts: _Facts) -> None:
    """`PydanticCustomError(code, message)` whose code is a product code: a coded 422."""
    if namespace.resolve(call.func) is not PydanticCustomError:
        return
    code = namespace.resolve(call.args[0])
    if isinstance(code, str) and code in CODED_VALIDATION_TYPES:
        message = namespace.resolve(call.args[1]) if len(call.args) > 1 else _MISSING
        facts.coded[code] = message if isinstance(message, str) else "The request is not valid."


def _collect(value: Any, facts: _Facts, depth: int = 0) -> None:
    """Sort a value a name resolved to: an error, something to read, or nothing of ours."""
    if isinstance(value, type):
        if issubclass(value, AppError):
            if value is not AppError:
                facts.errors.add(value)
        elif _is_project_class(value):
            facts.units.append(value)
        return
    if isinstance(value, types.FunctionType):
        if _is_project_function(value):
            facts.units.append(value)
        return
    if depth > 2 or isinstance(value, str | bytes | int | float | bool | types.ModuleType):
        return
    for inner in _inner_values(value, held=depth > 0):
        _collect(inner, facts, depth + 1)


def _inner_values(value: Any, held: bool) -> Iterator[Any]:
    """What a run-time value holds that code may reach: a bound method's function, a
    partial's, a container's items, an `Annotated` type's validators, a project object's
    class and, when the code names the object itself, its attributes (e.g. a hook's handlers).
    An object only held by another (`_ALL` hooks, a router's routes) adds its class alone,
    or one registry would lead everywhere."""
    if isinstance(value, types.MethodType):
        yield value.__func__
    elif isinstance(value, functools.partial):
        yield value.func
    elif isinstance(value, list | tuple | set | frozenset):
        yield from value
    elif isinstance(value, dict):
        yield from value.values()
    elif typing.get_origin(value) is not None:
        yield from typing.get_args(value)
        yield from getattr(value, "__metadata__", ())
    elif _is_project_class(type(value)):
        yield type(value)
        if not held:
            yield from getattr(value, "__dict__", {}).values()
    elif type(value).__module__.startswith("pydantic.functional_validators"):
        yield getattr(value, "func", None)  # AfterValidator(func) and its kin
    elif callable(value) and "__wrapped__" in getattr(value, "__dict__", {}):
        yield value.__wrapped__  # e.g. a function behind functools.cache


def _class_facts(cls: type) -> _Facts:
    """A class is read through what it holds: its methods and validators (read like any
    function), its attributes and field types, and its project base classes."""
    facts = _Facts()
    for name, value in vars(cls).items():
        if name == "__annotations__" and isinstance(value, dict):
            for annotation in value.values():
                _collect(annotation, facts)
        elif isinstance(value, staticmethod | classmethod):
            _collect(value.__func__, facts)
        elif isinstance(value, property):
            for accessor in (value.fget, value.fset, value.fdel):
                _collect(accessor, facts)
        elif isinstance(value, functools.cached_property):
            _collect(value.func, facts)
        elif not name.startswith("__") or isinstance(value, types.FunctionType):
            _collect(value, facts, depth=1)  # held by the class: an object adds its class
    facts.units.extend(base for base in cls.__mro__[1:] if _is_project_class(base))
    return facts


@functools.cache
def _facts(unit: Any) -> _Facts:
    if isinstance(unit, type):
        return _class_facts(unit)
    return _read(_function_nodes(unit.__code__), _Namespace(unit.__globals__, _closure_of(unit)))


@dataclass
class Reach:
    """Everything reachable from some starting values: errors and coded validation types."""

    errors: set[type[AppError]] = field(default_factory=set)
    coded: dict[str, str] = field(default_factory=dict)


def reach(values: Iterable[Any]) -> Reach:
    """The errors (and coded validation types) the code reachable from `values` can raise."""
    start = _Facts()
    for value in values:
        _collect(value, start)
    found = Reach(set(start.errors), dict(start.coded))
    seen: set[Any] = set()
    pending = list(start.units)
    while pending:
        unit = pending.pop()
        if unit in seen:
            continue
        seen.add(unit)
        facts = _facts(unit)
        found.errors |= facts.errors
        for code, message in facts.coded.items():
            found.coded.setdefault(code, message)
        pending.extend(facts.units)
    return found


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
        yield inspect.unwrap(dependant.call)
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _params(dependant: Dependant) -> Iterator[Any]:
    for param in (
        *dependant.path_params,
        *dependant.query_params,
        *dependant.header_params,
        *dependant.cookie_params,
        *dependant.body_params,
    ):
        yield param.field_info.annotation
        yield from param.field_info.metadata
    for sub in dependant.dependencies:
        yield from _params(sub)


def _has_params(dependant: Dependant) -> bool:
    return any(
        (
            dependant.path_params,
            dependant.query_params,
            dependant.header_params,
            dependant.cookie_params,
            dependant.body_params,
        )
    ) or any(_has_params(sub) for sub in dependant.dependencies)


VALIDATION_FAILED = Answer(422, "validation_error", "The request is not valid.")


def route_answers(dependant: Dependant) -> set[Answer]:
    """The error answers a route's handler, dependencies and parameters can give."""
    raised = reach(_calls(dependant))
    answers = {Answer(e.status_code, e.code, e.message) for e in raised.errors}
    if _has_params(dependant):
        validation = reach(_params(dependant))
        answers |= {Answer(e.status_code, e.code, e.message) for e in validation.errors}
        answers |= {Answer(422, code, message) for code, message in validation.coded.items()}
        answers.add(VALIDATION_FAILED)
    return _one_message_per_code(answers)


def _one_message_per_code(answers: set[Answer]) -> set[Answer]:
    """Two errors may share a code with different messages; one example per code is enough."""
    chosen: dict[tuple[int, str], Answer] = {}
    for answer in sorted(answers):
        chosen.setdefault((answer.status, answer.code), answer)
    return set(chosen.values())


def handler_answers(handlers: Iterable[Callable[..., Any]]) -> set[Answer]:
    """The answers exception handlers give with a fixed status and code, whatever the route:
    each `error_response(503, "try_again", "...")` call in their code."""
    answers: set[Answer] = set()
    for handler in handlers:
        if not isinstance(handler, types.FunctionType) or not _is_project_function(handler):
            continue
        namespace = _Namespace(handler.__globals__, _closure_of(handler))
        for root in _function_nodes(handler.__code__):
            for node in ast.walk(root):
                if not isinstance(node, ast.Call) or len(node.args) < 3:
                    continue
                if namespace.resolve(node.func) is not error_response:
                    continue
                status, code, message = (namespace.resolve(arg) for arg in node.args[:3])
                fixed = isinstance(status, int) and isinstance(code, str)
                if fixed and isinstance(message, str) and status >= 400:
                    answers.add(Answer(status, code, message))
    return answers
