"""A per-process memory of recent token lookups, for a few seconds.

Looking the token up was about a sixth of a read request's time (measured
with `make bench`). A revocation made through this process forgets the token
at once; one made elsewhere (another replica, the CLI) takes effect here
within `ttl_seconds` of the lookup that filled the entry, however often the
token is used meanwhile. Expiry is checked on every request, cached or not.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from storage.records import TokenRecord


@dataclass
class TokenCache:
    """Valid tokens by hash, each remembered for `ttl_seconds` (0: no caching)."""

    ttl_seconds: float = 0.0
    max_entries: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, TokenRecord]] = field(default_factory=dict)

    def get(self, token_hash: str) -> TokenRecord | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        remembered_at, record = entry
        if self.clock() - remembered_at > self.ttl_seconds:
            del self._entries[token_hash]
            return None
        return record

    def remember(self, token_hash: str, record: TokenRecord) -> None:
        """Keep `record`, which was read from the database just now, for `ttl_seconds`.

        Call it only with a fresh read: the entry's age counts from this call,
        and `get` never extends it however often the token is used.
        """
        if self.ttl_seconds <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude, but bounded: a flood of tokens cannot grow it
        self._entries[token_hash] = (self.clock(), record)

    def used(self, token_hash: str, at: datetime) -> None:
        """Note a lastUsedAt write, so the next requests do not write it again."""
        entry = self._entries.get(token_hash)
        if entry is not None:
            self._entries[token_hash] = (entry[0], replace(entry[1], last_used_at=at))

    def forget(self, name: str) -> None:
        """Drop the token named `name` (it was just revoked)."""
        for token_hash, (_, record) in list(self._entries.items()):
            if record.name == name:
                del self._entries[token_hash]
