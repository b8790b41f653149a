"""The base of every request body: JSON's types as the document states them, no coercion.

Pydantic's lax mode turns `"5"` and `true` into the integer 5 and 1, `"yes"` into true, so a
body the OpenAPI document calls invalid (a string where it says integer) was accepted. Request
bodies are validated as Python values (FastAPI parses the JSON first), where pydantic's strict
mode would also refuse the ISO strings of dates and the values of enums; so only numbers and
booleans are held to their JSON type here, each refusal a 422 naming the field.
"""

from __future__ import annotations

import functools
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

# A text that is stripped of surrounding whitespace must hold a character that is not: what
# Python's str.strip() removes, said as a JSON Schema (ECMA) pattern, searched anywhere.
VISIBLE = r"[^\s\x1c-\x1f\x85]"
# The Python types a JSON number or boolean arrives as, by the field's declared type.
_JSON_TYPES: dict[Any, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (int, float)}
_NAMES = {bool: "a boolean", int: "an integer", float: "a number"}


def scalar_type(annotation: Any) -> Any:
    """int, float or bool when the field is one (optional or annotated), else None."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        return scalar_type(kinds[0]) if len(kinds) == 1 else None
    return annotation if annotation in _JSON_TYPES else None


@functools.cache  # per model and field: every field of every request body asks
def _field_kind(model: type[BaseModel], name: str) -> Any:
    field = model.model_fields.get(name)
    return scalar_type(field.annotation) if field else None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_type(cls, value: Any, info: ValidationInfo) -> Any:
        kind = _field_kind(cls, info.field_name or "")
        if kind is None or value is None or type(value) in _JSON_TYPES[kind]:
            return value
        if kind is int and type(value) is float and value.is_integer():
            return value  # JSON Schema's integer: 5.0 is one
        raise ValueError(f"must be {_NAMES[kind]}")
