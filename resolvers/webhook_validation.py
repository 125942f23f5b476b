"""Checks on webhook subscriptions: URL (with the SSRF guard), filters."""

from collections.abc import Sequence

from resolvers import validation
from resolvers.errors import BadUserInput
from storage.enums import Stage
from webhooks.addresses import BlockedDestination, check_url, resolve_destination
from webhooks.filters import EVENT_TYPES, is_valid_pattern

URL_MAX = 2048
FILTER_MAX = 100
EVENT_PATTERN_MAX = 64  # event types are well under 40 characters


async def url(value: str, *, allow_private: bool) -> str:
    """An http(s) URL whose host is (and now resolves to) a public address.

    The same guard runs again on every send, on the address actually connected to.
    """
    value = validation.text(value, "url", URL_MAX, required=True).strip()
    try:
        _, host, port = check_url(value, allow_private=allow_private)
        await resolve_destination(host, port, allow_private=allow_private)
    except BlockedDestination as blocked:
        raise BadUserInput(f"webhook url refused: {blocked.reason}", field="url") from None
    return value


def event_patterns(patterns: Sequence[str]) -> list[str]:
    if not patterns:
        raise BadUserInput("subscribe to at least one event type (`*` for all)", field="events")
    unique = _bounded(list(dict.fromkeys(patterns)), "events")
    for pattern in unique:
        validation.text(pattern, "events", EVENT_PATTERN_MAX)
    unknown = [p for p in unique if not is_valid_pattern(p)]
    if unknown:
        raise BadUserInput(
            f"unknown event types {unknown}; use `*`, a prefix such as `model_version.*` "
            f"or one of {list(EVENT_TYPES)}",
            field="events",
        )
    return unique


def model_names(names: Sequence[str]) -> list[str]:
    unique = _bounded(list(dict.fromkeys(names)), "modelNames")
    for name in unique:
        validation.model_name(name, "modelNames")
    return unique


def stages(values: Sequence[Stage]) -> list[str]:
    return [s.value for s in dict.fromkeys(values)]


def _bounded(values: list[str], field: str) -> list[str]:
    if len(values) > FILTER_MAX:
        raise BadUserInput(f"at most {FILTER_MAX} {field}", field=field)
    return values
