"""How many audit rows callers without a valid token may cause.

Every request refused for want of a token is worth an audit row (who tried,
from where), but a flood of them must not fill the disk or queue behind the
single SQLite writer. Each client address gets a small bucket of rows that
refills over time, and all addresses together share a larger one (a caller
spraying addresses is still bounded). Refusals over the limit are counted, and
the address's next row says how many were left out.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    suppressed: int = 0


@dataclass(slots=True)
class _Rate:
    burst: float
    per_second: float

    def refill(self, bucket: _Bucket, now: float) -> None:
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now


@dataclass
class AuditThrottle:
    """Admits at most `per_address` rows per `window_seconds` per address, `overall` in all."""

    per_address: int = 10
    overall: int = 100
    window_seconds: float = 60.0
    max_addresses: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _buckets: "OrderedDict[str, _Bucket]" = field(default_factory=OrderedDict)
    _all: _Bucket | None = None

    def admit(self, address: str) -> int | None:
        """None when this refusal gets no row; else how many were left out before it."""
        now = self.clock()
        one = _Rate(self.per_address, self.per_address / self.window_seconds)
        every = _Rate(self.overall, self.overall / self.window_seconds)
        if self._all is None:
            self._all = _Bucket(self.overall, now)
        bucket = self._buckets.pop(address, None) or _Bucket(self.per_address, now)
        self._buckets[address] = bucket  # most recently seen last
        while len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)
        one.refill(bucket, now)
        every.refill(self._all, now)
        if bucket.tokens < 1 or self._all.tokens < 1:
            bucket.suppressed += 1
            return None
        bucket.tokens -= 1
        self._all.tokens -= 1
        suppressed, bucket.suppressed = bucket.suppressed, 0
        return suppressed
