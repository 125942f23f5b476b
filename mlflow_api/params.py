"""The fields of one MLflow request message, as the MLflow client sends them.

GET requests carry the message in the query string (a repeated field as a
repeated key: `stages=Staging&stages=Production`); the others in a JSON body
(proto3 JSON: int64 fields may come as strings, absent fields are left out).
Missing required fields and wrongly typed ones are INVALID_PARAMETER_VALUE
with MLflow's wording, before any use case runs.
"""

from collections.abc import Mapping
from typing import Any

from resolvers import validation
from resolvers.errors import BadUserInput

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def missing(name: str) -> BadUserInput:
    return BadUserInput(
        f"Missing value for required parameter '{name}'. See the API docs for more "
        "information about request parameters.",
        field=name,
    )


def _invalid(name: str, value: Any, expected: str) -> BadUserInput:
    shown = repr(value)
    shown = shown if len(shown) <= 100 else shown[:100] + "..."
    return BadUserInput(
        f"Invalid value {shown} for parameter '{name}' supplied: expected {expected}",
        field=name,
    )


class Params:
    """Typed access to a request's fields; `values` is a JSON object or a parsed query."""

    def __init__(self, values: Mapping[str, Any], *, from_query: bool = False) -> None:
        self._values = values
        self._from_query = from_query

    @property
    def values(self) -> Mapping[str, Any]:
        return self._values

    def _one(self, name: str) -> Any:
        value = self._values.get(name)
        if self._from_query and isinstance(value, list):
            # A repeated key where one value is expected: the last one wins, as in Flask.
            return value[-1] if value else None
        return value

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self._one(name)
        if value is None or (required and value == ""):
            if required:
                raise missing(name)
            return None
        if not isinstance(value, str):
            raise _invalid(name, value, "a string")
        return value

    def required(self, name: str) -> str:
        value = self.string(name, required=True)
        assert value is not None
        return value

    def version(self, name: str = "version") -> int:
        """A version number, sent as a string: MLflow's "must be an integer" otherwise."""
        value = self._one(name)
        if value is None or value == "":
            raise missing(name)
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str):
            raise _invalid(name, value, "an integer")
        try:
            number = validation.ascii_integer(text, name, validation.VERSION_MAX)
        except BadUserInput:
            raise BadUserInput(
                f"Model version must be an integer, got '{text[:100]}'", field=name
            ) from None
        return validation.version_number(number, name)

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self._one(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise _invalid(name, value, "a boolean")

    def integer(self, name: str, *, default: int) -> int:
        """An int64 field: a JSON number or a string of digits (proto3 JSON writes both)."""
        value = self._one(name)
        if value is None or value == "":
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            negative = value.startswith("-")
            digits = value[1:] if negative else value
            try:
                number = validation.ascii_integer(digits, name)
            except BadUserInput:
                raise _invalid(name, value, "an integer") from None
            return -number if negative else number
        raise _invalid(name, value, "an integer")

    def strings(self, name: str) -> list[str]:
        """A repeated string field (absent: empty)."""
        value = self._values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if len(items) > validation.LIST_MAX:
            raise BadUserInput(f"{name} holds more than {validation.LIST_MAX} items", field=name)
        for item in items:
            if not isinstance(item, str):
                raise _invalid(name, item, "strings")
        return list(items)

    def pairs(self, name: str = "tags") -> list[tuple[str, str]]:
        """A repeated `{key, value}` message (tags)."""
        value = self._values.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > validation.LIST_MAX:
            raise _invalid(name, value, f"a list of at most {validation.LIST_MAX} tags")
        found = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise _invalid(name, item, "tags with a string key")
            tag_value = item.get("value", "")
            if not isinstance(tag_value, str):
                raise _invalid(name, item, "tags with a string value")
            found.append((item["key"], tag_value))
        return found
