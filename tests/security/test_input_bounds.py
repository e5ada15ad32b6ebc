"""Every input the API documents is bounded: strings have a max length, numbers a range.

Generated from the OpenAPI schema, so a new field without bounds fails here.
"""

from typing import Any

from main import app

BIGINT_MAX = 2**63 - 1
# Free-form inputs whose format is checked in code rather than by a schema bound.
UNBOUNDED_ALLOWED: set[str] = set()


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return components[ref.rsplit("/", 1)[-1]] if ref else schema


def leaves(
    schema: dict[str, Any],
    components: dict[str, Any],
    where: str,
    seen: frozenset[str] = frozenset(),
) -> list[tuple[str, dict[str, Any]]]:
    """Every scalar schema inside `schema`, with a dotted location."""
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return []
        return leaves(components[name], components, where, seen | {name})
    found: list[tuple[str, dict[str, Any]]] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += leaves(option, components, where, seen)
    if schema.get("type") == "object" or "properties" in schema:
        for name, prop in schema.get("properties", {}).items():
            found += leaves(prop, components, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            found += leaves(extra, components, f"{where}.*", seen)
    elif schema.get("type") == "array":
        found += leaves(schema.get("items", {}), components, f"{where}[]", seen)
    elif schema.get("type") in ("string", "integer", "number"):
        found.append((where, schema))
    return found


def documented_inputs() -> list[tuple[str, dict[str, Any]]]:
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    inputs = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            here = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                inputs += leaves(param.get("schema", {}), components, f"{here} {param['name']}")
            for media in op.get("requestBody", {}).get("content", {}).values():
                inputs += leaves(media.get("schema", {}), components, f"{here} body")
    return inputs


def bounded_pattern(pattern: str | None) -> bool:
    """An anchored pattern without open-ended repetition bounds the length by itself."""
    return (
        bool(pattern)
        and pattern.startswith("^")
        and pattern.endswith("$")
        and not any(token in pattern for token in ("+", "*", ",}"))
    )


def test_every_string_input_has_a_max_length_or_format() -> None:
    unbounded = [
        where
        for where, schema in documented_inputs()
        if schema.get("type") == "string"
        and "maxLength" not in schema
        and not bounded_pattern(schema.get("pattern"))
        and "enum" not in schema
        and "const" not in schema
        and schema.get("format") not in ("date", "date-time", "binary", "email", "uuid")
        and "contentMediaType" not in schema  # uploads: capped by the body-size limit
        and where not in UNBOUNDED_ALLOWED
    ]
    assert unbounded == []


def test_every_number_input_is_bounded() -> None:
    unbounded = [
        where
        for where, schema in documented_inputs()
        if schema.get("type") in ("integer", "number")
        and "enum" not in schema
        and (
            schema.get("maximum", schema.get("exclusiveMaximum")) is None
            or schema.get("minimum", schema.get("exclusiveMinimum")) is None
            or schema.get("maximum", 0) > BIGINT_MAX
        )
    ]
    assert unbounded == []
