"""Which subscriptions an event goes to: event-type patterns, model names, stages."""

from collections.abc import Sequence

EVENT_TYPES = (
    "model.created",
    "model.updated",
    "model.deleted",
    "model.rolled_back",
    "model_version.created",
    "model_version.updated",
    "model_version.deleted",
    "model_version.stage_changed",
    "tag.set",
    "tag.deleted",
    "alias.set",
    "alias.deleted",
    "transition_request.created",
    "transition_request.approved",
    "transition_request.rejected",
    "transition_request.cancelled",
    "transition_request.completed",
    "transition_request.stale",
    "check.reported",
)
TEST_EVENT = "webhook.test"


def is_valid_pattern(pattern: str) -> bool:
    """`*`, an exact event type, or a prefix pattern such as `model_version.*`."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(t.startswith(prefix) for t in EVENT_TYPES)
    return pattern in EVENT_TYPES


def type_matches(patterns: Sequence[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def matches(
    *,
    patterns: Sequence[str],
    model_names: Sequence[str],
    stages: Sequence[str],
    event_type: str,
    model_name: str | None,
    stage: str | None,
) -> bool:
    """Does a subscription with these filters want this event?

    Empty `model_names` or `stages` mean "any". A stage filter selects events
    that move a version into one of those stages; events that are not about a
    stage change (a tag, a description) do not pass a stage filter.
    """
    if not type_matches(patterns, event_type):
        return False
    if model_names and model_name not in model_names:
        return False
    return not stages or stage in stages
