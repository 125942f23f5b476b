"""Input rules shared by the use cases; each failure is a BAD_USER_INPUT.

Every door (GraphQL, the MLflow REST API, the CLI) reaches the registry through
the use cases, so the rules live here rather than in any one door. Text rules:
no input holds C0 control characters, DEL or UTF-16 surrogates (PostgreSQL
cannot store a NUL, and a refusal must never depend on the backend); free text
(`PROSE_FIELDS`) may hold tab, newline and carriage return; everything else
(names, keys, aliases, ids, URIs, filters) is one line and also refuses the
bidirectional overrides and isolates that make text display other than it reads.
`arguments` applies these rules to a whole call, as the catch-all behind the
specific rules that each use case applies to its own fields.
"""

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from resolvers.errors import BadUserInput

# A model name is any one line that MLflow accepts and a `models:/` URI can carry:
# MLflow refuses '/' and ':' (mlflow.utils.validation._validate_model_name) and
# urllib, which MLflow parses URIs with, ends the path at '?'.
MODEL_NAME_REFUSED = "/:?"
MODEL_NAME_MAX = 256
ALIAS_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
# `latest` and `v<N>` would be ambiguous in model URIs (MLflow reserves them too).
RESERVED_ALIAS = re.compile(r"latest|v[0-9]+", re.IGNORECASE)
DIGEST_PATTERN = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")
KEY_MAX = 250
TAG_VALUE_MAX = 5000
PARAM_VALUE_MAX = 6000
SOURCE_MAX = 4096
RUN_ID_MAX = 256
DESCRIPTION_MAX = 10_000
COMMENT_MAX = 5000
ENTRIES_MAX = 1000
# The largest list any input may hold (the tags, metrics and params of a version).
LIST_MAX = ENTRIES_MAX
# A filter's conditions each cost a subquery: 20 tags is more than any dashboard asks.
FILTER_TAGS_MAX = 20
FILTER_TEXT_MAX = MODEL_NAME_MAX
# Integers that reach a column: version numbers are 32-bit, ids 64-bit (both signed).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
VERSION_MAX = INT32_MAX
_ASCII_INTEGER = re.compile(r"[0-9]{1,19}")

# Free text, where tab, newline and carriage return are allowed (and right-to-left
# text with its isolates): what a field of one of these names holds, at any depth.
PROSE_FIELDS = frozenset(
    {"description", "comment", "reason", "summary", "value", "card", "modelCard"}
)
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_REFUSED_IN_PROSE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_REFUSED_IN_LINE = re.compile(f"[\x00-\x1f\x7f{_BIDI_CONTROLS}\ud800-\udfff]")
_CAMEL = re.compile(r"_([a-z0-9])")


def model_name(name: str, field: str = "name") -> str:
    """A model name as MLflow accepts it, less what a `models:/` URI cannot hold.

    Spaces, '@', '#', '%' and any script are allowed; refused: blank names,
    '/', ':' and '?', '.' and names starting with '..' (MLflow treats names as
    paths in places), and the characters no one-line input may hold.
    """
    if not name.strip():
        raise BadUserInput(f"{field} must not be empty or blank", field=field)
    if len(name) > MODEL_NAME_MAX:
        raise BadUserInput(f"{field} is longer than {MODEL_NAME_MAX} characters", field=field)
    characters(name, field, prose=False)
    if any(char in name for char in MODEL_NAME_REFUSED):
        raise BadUserInput(
            f"{field} {name!r} must not contain '/', ':' or '?' (a models:/ URI could not name it)",
            field=field,
        )
    if name == "." or name.startswith(".."):
        raise BadUserInput(
            f"{field} {name!r} must not be '.' or start with '..' (MLflow reads names as paths)",
            field=field,
        )
    return name


def version_number(version: int, field: str = "version") -> int:
    if not 1 <= version <= VERSION_MAX:
        raise BadUserInput(f"{field} must be from 1 to {VERSION_MAX}", field=field)
    return version


def alias_name(alias: str) -> str:
    if not alias or len(alias) > MODEL_NAME_MAX or not ALIAS_PATTERN.fullmatch(alias):
        raise BadUserInput(
            "alias must be 1-256 letters, digits, '_' or '-'", field="alias", alias=alias
        )
    if RESERVED_ALIAS.fullmatch(alias):
        raise BadUserInput(f"alias {alias!r} is reserved", field="alias", alias=alias)
    return alias


def is_prose(field: str) -> bool:
    """Whether a field (a dotted path is judged by its last name) holds free text."""
    return field.rpartition(".")[2] in PROSE_FIELDS


def characters(value: str, field: str, *, prose: bool | None = None) -> str:
    """`value`, unless it holds a character its field may not (see the module docstring).

    `prose` defaults to what the field's name says (`is_prose`).
    """
    if prose is None:
        prose = is_prose(field)
    found = (_REFUSED_IN_PROSE if prose else _REFUSED_IN_LINE).search(value)
    if found is None:
        return value
    char = found.group()
    # The value itself is never echoed: the message ends up in logs and the audit log.
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        what = "a bidirectional control character"
    elif "\ud800" <= char <= "\udfff":
        what = "an unpaired surrogate"
    else:
        what = "a control character"
    allowed = "; only tab, newline and carriage return are allowed" if prose else ""
    raise BadUserInput(
        f"{field} contains {what} (U+{ord(char):04X} at position {found.start()}){allowed}",
        field=field,
    )


def text(value: str | None, field: str, limit: int, *, required: bool = False) -> str:
    value = value or ""
    if required and not value.strip():
        raise BadUserInput(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise BadUserInput(f"{field} is longer than {limit} characters", field=field)
    return characters(value, field)


def key(value: str, field: str) -> str:
    if not value or len(value) > KEY_MAX:
        raise BadUserInput(f"{field} key must be 1-{KEY_MAX} characters", field=field)
    return characters(value, field, prose=False)


def entries(
    pairs: Iterable[tuple[str, str]], field: str, value_limit: int
) -> list[tuple[str, str]]:
    """Key/value pairs with unique keys, in the order given."""
    seen: dict[str, str] = {}
    for k, v in pairs:
        key(k, field)
        if k in seen:
            raise BadUserInput(f"{field} key {k!r} is given twice", field=field)
        if len(seen) == ENTRIES_MAX:
            raise BadUserInput(f"at most {ENTRIES_MAX} {field} entries", field=field)
        if len(v) > value_limit:
            raise BadUserInput(
                f"the value of {field} key {k!r} is longer than {value_limit} characters",
                field=f"{field}.value",
            )
        seen[k] = characters(v, f"{field}.value")
    return list(seen.items())


def filter_text(value: str | None, field: str) -> str | None:
    """A filter's string (a name prefix, a substring): one line, at most a name long."""
    if not value:
        return None
    if len(value) > FILTER_TEXT_MAX:
        raise BadUserInput(
            f"{field} is longer than {FILTER_TEXT_MAX} characters", field=field, max=FILTER_TEXT_MAX
        )
    return characters(value, field, prose=False)


def filter_tags(pairs: Sequence[tuple[str, str]], field: str) -> list[tuple[str, str]]:
    """Tag conditions of a filter: each one is a subquery, so there are few."""
    if len(pairs) > FILTER_TAGS_MAX:
        raise BadUserInput(
            f"{field} holds {len(pairs)} conditions; at most {FILTER_TAGS_MAX} are allowed",
            field=field,
            max=FILTER_TAGS_MAX,
        )
    for k, v in pairs:
        key(k, field)
        text(v, f"{field}.value", TAG_VALUE_MAX)
    return list(pairs)


def ascii_integer(value: str, field: str, maximum: int = INT64_MAX) -> int:
    """A decimal written with ASCII digits only, 0 to `maximum` (no sign, no spaces).

    `str.isdigit` and `int` accept other scripts' digits (U+0661 is 1) and
    superscripts that `int` then rejects: neither may stand for a number here.
    """
    if not _ASCII_INTEGER.fullmatch(value) or int(value) > maximum:
        raise BadUserInput(
            f"{field} must be a whole number from 0 to {maximum} written with the digits 0-9",
            field=field,
        )
    return int(value)


def arguments(values: Mapping[str, Any]) -> None:
    """The catch-all over a whole call: every string obeys `characters`, every list `LIST_MAX`.

    Walks dataclasses (input objects), lists and mappings. A root argument
    named `input` is left out of the field paths, as every mutation has one.
    """
    for name, value in values.items():
        _walk(value, "" if name == "input" else _camel(name))


def _walk(value: Any, path: str) -> None:
    if isinstance(value, str):
        characters(value, path or "input")
    elif isinstance(value, list | tuple):
        if len(value) > LIST_MAX:
            raise BadUserInput(f"{path} holds more than {LIST_MAX} items", field=path)
        for item in value:
            _walk(item, path)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _walk(getattr(value, f.name), _join(path, _camel(f.name)))
    elif isinstance(value, Mapping):
        for k, item in value.items():
            name = _join(path, str(k))
            characters(str(k), name, prose=False)
            _walk(item, name)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def escaped(value: str) -> str:
    """`value` with what an input may not hold written as `\\uXXXX` (for the audit log)."""
    return _REFUSED_IN_LINE.sub(_escape, value) if _REFUSED_IN_LINE.search(value) else value


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return char if char in "\t\n\r" else f"\\u{ord(char):04x}"


def utc_time(value: datetime, field: str) -> datetime:
    """An aware time, in UTC: a naive one is ambiguous, so it is refused rather than guessed."""
    name = field.rpartition(".")[2]
    if value.tzinfo is None:
        raise BadUserInput(f"{name} needs a time zone, e.g. 2026-01-31T00:00:00Z", field=field)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC day
        raise BadUserInput(f"{name} is out of range", field=field) from None


def metrics(pairs: Sequence[tuple[str, float]]) -> dict[str, float]:
    if len(pairs) > ENTRIES_MAX:
        raise BadUserInput(f"at most {ENTRIES_MAX} metrics", field="metrics")
    result: dict[str, float] = {}
    for k, v in pairs:
        key(k, "metrics")
        if k in result:
            raise BadUserInput(f"metrics key {k!r} is given twice", field="metrics")
        if not math.isfinite(v):
            raise BadUserInput(f"metric {k!r} must be a finite number", field="metrics")
        result[k] = float(v)
    return result


def digest(value: str | None) -> str | None:
    """A sha256 digest, normalized to `sha256:<64 lowercase hex>`."""
    if value is None or value == "":
        return None
    match = DIGEST_PATTERN.fullmatch(value)
    if match is None:
        raise BadUserInput(
            "digest must be a sha256: 64 hex digits, optionally 'sha256:'-prefixed", field="digest"
        )
    return "sha256:" + match.group(1).lower()
