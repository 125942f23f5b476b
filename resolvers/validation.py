"""Input rules shared by the use cases; each failure is a BAD_USER_INPUT."""

import math
import re
from collections.abc import Iterable, Sequence

from resolvers.errors import BadUserInput

MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MODEL_NAME_MAX = 256
ALIAS_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
# `latest` and `v<N>` would be ambiguous in model URIs (MLflow reserves them too).
RESERVED_ALIAS = re.compile(r"latest|v\d+", re.IGNORECASE)
DIGEST_PATTERN = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")
KEY_MAX = 250
TAG_VALUE_MAX = 5000
PARAM_VALUE_MAX = 6000
SOURCE_MAX = 4096
RUN_ID_MAX = 256
DESCRIPTION_MAX = 10_000
COMMENT_MAX = 5000
ENTRIES_MAX = 1000


def model_name(name: str, field: str = "name") -> str:
    if not name:
        raise BadUserInput(f"{field} must not be empty", field=field)
    if len(name) > MODEL_NAME_MAX:
        raise BadUserInput(f"{field} is longer than {MODEL_NAME_MAX} characters", field=field)
    if not MODEL_NAME_PATTERN.fullmatch(name):
        raise BadUserInput(
            f"{field} {name!r} must start with a letter or digit and contain only "
            "letters, digits, '.', '_' and '-'",
            field=field,
        )
    return name


def version_number(version: int, field: str = "version") -> int:
    if version < 1:
        raise BadUserInput(f"{field} must be a positive integer", field=field)
    return version


def alias_name(alias: str) -> str:
    if not alias or len(alias) > MODEL_NAME_MAX or not ALIAS_PATTERN.fullmatch(alias):
        raise BadUserInput(
            "alias must be 1-256 letters, digits, '_' or '-'", field="alias", alias=alias
        )
    if RESERVED_ALIAS.fullmatch(alias):
        raise BadUserInput(f"alias {alias!r} is reserved", field="alias", alias=alias)
    return alias


def text(value: str | None, field: str, limit: int, *, required: bool = False) -> str:
    value = value or ""
    if required and not value.strip():
        raise BadUserInput(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise BadUserInput(f"{field} is longer than {limit} characters", field=field)
    return value


def key(value: str, field: str) -> str:
    if not value or len(value) > KEY_MAX:
        raise BadUserInput(f"{field} key must be 1-{KEY_MAX} characters", field=field)
    return value


def entries(
    pairs: Iterable[tuple[str, str]], field: str, value_limit: int
) -> list[tuple[str, str]]:
    """Key/value pairs with unique keys, in the order given."""
    seen: dict[str, str] = {}
    for k, v in pairs:
        key(k, field)
        if k in seen:
            raise BadUserInput(f"{field} key {k!r} is given twice", field=field)
        seen[k] = text(v, f"{field} {k!r}", value_limit)
    if len(seen) > ENTRIES_MAX:
        raise BadUserInput(f"at most {ENTRIES_MAX} {field} entries", field=field)
    return list(seen.items())


def metrics(pairs: Sequence[tuple[str, float]]) -> dict[str, float]:
    result: dict[str, float] = {}
    for k, v in pairs:
        key(k, "metrics")
        if k in result:
            raise BadUserInput(f"metrics key {k!r} is given twice", field="metrics")
        if not math.isfinite(v):
            raise BadUserInput(f"metric {k!r} must be a finite number", field="metrics")
        result[k] = float(v)
    if len(result) > ENTRIES_MAX:
        raise BadUserInput(f"at most {ENTRIES_MAX} metrics", field="metrics")
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
