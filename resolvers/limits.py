"""How many items each unpaged list can hold or return, and where that is enforced.

The GraphQL cost rule multiplies by these figures, so each one must be a real
bound: either the registry refuses to store more (tags, metrics, params,
aliases), or the resolver returns at most that many (the newest first where
more can exist; a paged field gives the rest).
"""

from collections.abc import Sequence
from typing import Final, TypeVar

from resolvers.errors import BadUserInput
from resolvers.validation import ENTRIES_MAX

T = TypeVar("T")

# Stored at most this many: refused on write.
TAGS_PER_OBJECT: Final = 100
METRICS_PER_VERSION: Final = ENTRIES_MAX
PARAMS_PER_VERSION: Final = ENTRIES_MAX
ALIASES_PER_MODEL: Final = 100
ALIAS_POLICIES_PER_SCOPE: Final = 100  # enforced in resolvers/alias_policies.py

# A version's model card, in bytes of UTF-8 (64 KiB: a long card with tables).
MODEL_CARD_MAX_BYTES: Final = 64 * 1024

# Returned at most this many: more can exist, the list shows the newest.
LISTED_STAGING_VERSIONS: Final = 100
LISTED_ARCHIVED: Final = 100
LISTED_REQUESTS_OF_VERSION: Final = 100
LISTED_REVIEWS: Final = 100
LISTED_CHECK_REPORTS: Final = 100
LISTED_ATTEMPTS: Final = 100

# Versions compared at once (compareModelVersions refuses more).
COMPARED_VERSIONS_MAX: Final = 10

# Bounded by the input rules of the mutation that stores them.
FILTER_VALUES: Final = 100
POLICY_CHECKS: Final = 20
TOKEN_MODEL_PATTERNS: Final = 100
STAGES: Final = 4


def newest_first(items: Sequence[T], limit: int) -> list[T]:
    """The first `limit` items of a list kept newest first."""
    return list(items[:limit])


def newest_of_oldest_first(items: Sequence[T], limit: int) -> list[T]:
    """The last `limit` items of a list kept oldest first, still oldest first."""
    return list(items[-limit:]) if len(items) > limit else list(items)


def at_most(count: int, limit: int, what: str, field: str) -> None:
    """BAD_USER_INPUT when `count` items of `what` would exceed `limit`."""
    if count > limit:
        raise BadUserInput(f"at most {limit} {what}", field=field, limit=limit)
