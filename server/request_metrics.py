"""GraphQL requests in the metrics: by operation and outcome, with their latency.

Operation labels come from what clients send, so a name is a label only when
it looks like one (`[A-Za-z0-9_]`, at most 64 characters), and only the first
MAX_OPERATIONS distinct names a process sees; any other counts as "other".
A request whose operation never ran and was not named (refused for its
token, its body, its validity or its cost) counts as "none".
"""

import re

from prometheus_client import Counter, Histogram

from schema.limits import QUERY_TOO_COMPLEX

MAX_OPERATIONS = 100
OTHER, NONE = "other", "none"
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")

REQUESTS = Counter(
    "modelreg_graphql_requests",
    "POST /graphql requests by operation and outcome (ok, or the first error's code)",
    ["operation", "outcome"],
)
DURATION = Histogram(
    "modelreg_graphql_request_duration_seconds",
    "Time to answer POST /graphql, by operation",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
COST_REFUSALS = Counter(
    "modelreg_graphql_query_cost_refusals",
    "Requests refused as too costly or too long (QUERY_TOO_COMPLEX)",
)


class OperationLabels:
    """The label of each operation name: the name itself for the first `limit` plausible ones."""

    def __init__(self, limit: int = MAX_OPERATIONS) -> None:
        self._limit = limit
        self._known: set[str] = set()

    def __call__(self, name: str | None) -> str:
        if name is None:
            return NONE
        if name in self._known:
            return name
        if len(self._known) >= self._limit or not _NAME.fullmatch(name):
            return OTHER
        self._known.add(name)
        return name


operation_label = OperationLabels()
# Each label set's child, as `labels()` returns it (it takes a lock and builds a key each call).
# Bounded as the labels are: MAX_OPERATIONS names, and the outcomes a request can have.
_counted: dict[tuple[str, str], Counter] = {}
_timed: dict[str, Histogram] = {}


def observe(operation: str | None, outcome: str | None, seconds: float) -> None:
    """Count one answered POST /graphql: `outcome` is "ok" or an error code."""
    label = operation_label(operation)
    code = outcome if outcome == "ok" or (outcome and _CODE.fullmatch(outcome)) else OTHER
    counted = _counted.get((label, code))
    if counted is None:
        counted = _counted[(label, code)] = REQUESTS.labels(label, code)
    counted.inc()
    timed = _timed.get(label)
    if timed is None:
        timed = _timed[label] = DURATION.labels(label)
    timed.observe(seconds)
    if code == QUERY_TOO_COMPLEX:
        COST_REFUSALS.inc()
