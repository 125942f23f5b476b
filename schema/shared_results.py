"""One execution of a subscription event per shape, shared by every subscriber of that shape.

Hundreds of subscriptions often ask for the same fields of the same event
(every dashboard sends one document). Executing the event through GraphQL
and encoding its JSON once per subscriber cost ~0.3 ms each; here the first
subscriber that needs an event's result for a shape computes it, and the
others take the encoded payload (the WebSocket handler splices it into each
subscription's own `next` message).

A shape is what the result can depend on:

- the root field's selection (its alias, sub-fields, directives, and every
  fragment of the document), with the values and declarations of the
  variables used there; not the root field's own arguments (`after`,
  `filter`): they choose which events reach a subscriber, and the event is
  the root value whatever chose it;
- the caller's role and model patterns, so that a field whose visibility
  ever depends on them cannot leak a result across tokens.

Only events whose result depends on nothing but the event itself are shared
(`RegistryEvent`, built from the immutable log row); anything else (a
`watchModelUri` answer reads the registry as it is) is executed per
subscriber as before.
"""

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)
from prometheus_client import Counter
from strawberry.types.execution import ExecutionResult

from resolvers.authorization import Principal

# Encoded payloads kept for subscribers that come to an event later (a lagging
# queue, a replay): at most this many, and about this many bytes. A payload
# that was dropped is only computed again.
KEPT_RESULTS = 4096
KEPT_BYTES = 32 * 1024 * 1024
# Selections of this many distinct (document, operation) pairs are remembered.
KEPT_SELECTIONS = 1024

RESULTS = Counter(
    "modelreg_live_results",
    "Subscription results sent, by whether the event was executed for it or an "
    "execution for the same shape was reused",
    ["how"],
)
EXECUTED = RESULTS.labels(how="executed")


class _BatchedCount:
    """A counter added to the metric once per loop turn, not once per subscriber.

    An increment of a multi-process Prometheus counter takes a lock and writes
    its file (~10 us): once per subscriber per event it was a fifth of a
    fan-out's own work.
    """

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._count = 0

    def inc(self) -> None:
        if self._count == 0:
            asyncio.get_running_loop().call_soon(self._flush)
        self._count += 1

    def _flush(self) -> None:
        self._metric.inc(self._count)
        self._count = 0


_REUSED = _BatchedCount(RESULTS.labels(how="reused"))

Shape = tuple[object, ...]


@dataclass
class EncodedResult(ExecutionResult):
    """A result with its `next` payload already encoded as JSON (`{"data": ..., "errors": ...}`)."""

    payload: str = ""


@dataclass(frozen=True, slots=True)
class _Selection:
    """What of a document shapes each event's result: its text and the variables it reads."""

    text: str
    variables: tuple[str, ...]


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.names.add(node.name.value)


def _selection(document: DocumentNode, operation: OperationDefinitionNode) -> _Selection | None:
    """The root field without its arguments, the fragments and the variables they read.

    None when the root selection is not a plain field (a fragment at the
    root): such a document is keyed by its whole text.
    """
    root = operation.selection_set.selections
    if len(root) != 1 or not isinstance(root[0], FieldNode):
        return None
    root_field = root[0]
    field = FieldNode(
        alias=root_field.alias,
        name=root_field.name,
        arguments=(),
        directives=root_field.directives,
        selection_set=root_field.selection_set,
    )
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    found = _Variables()
    for node in (field, *fragments):
        visit(node, found)
    declared = {d.variable.name.value: d for d in operation.variable_definitions or ()}
    # A variable's declaration holds its type and default, which shape its value.
    parts = [print_ast(field), *(print_ast(f) for f in fragments)]
    parts += [print_ast(declared[name]) for name in sorted(found.names) if name in declared]
    return _Selection("\n".join(parts), tuple(sorted(found.names)))


class SharedResults:
    """Encoded event results by (shape, event), computed once by whoever needs one first."""

    def __init__(self, kept: int = KEPT_RESULTS, kept_bytes: int = KEPT_BYTES) -> None:
        self._kept = kept
        self._kept_bytes = kept_bytes
        self._bytes = 0
        self._results: OrderedDict[tuple[Shape, str], asyncio.Future[EncodedResult]] = OrderedDict()
        self._selections: dict[tuple[str, str | None], _Selection | None] = {}

    def shape(
        self,
        query: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
        principal: Principal | None,
    ) -> Shape:
        """The key under which subscribers get the same result for the same event."""
        cache_key = (query, operation.name.value if operation.name else None)
        if cache_key not in self._selections:
            if len(self._selections) >= KEPT_SELECTIONS:
                self._selections.clear()
            self._selections[cache_key] = _selection(document, operation)
        selection = self._selections[cache_key]
        given = variables or {}
        who = (principal.role, principal.model_patterns) if principal is not None else None
        if selection is None:
            return (query, cache_key[1], _canonical(given), who)
        used = {name: given[name] for name in selection.variables if name in given}
        return (selection.text, _canonical(used), who)

    async def result(
        self, shape: Shape, event: str, execute: Callable[[], Awaitable[EncodedResult]]
    ) -> EncodedResult:
        """The result of `event` for `shape`: executed here if nobody has, else theirs."""
        key = (shape, event)
        while True:
            pending = self._results.get(key)
            if pending is None:
                return await self._execute(key, execute)
            if pending.done() and not pending.cancelled():  # the common case: no shield needed
                _REUSED.inc()
                return pending.result()
            try:
                # shield: a waiter that is cancelled must not cancel the execution it waits for
                found = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled():  # the one executing it was stopped: try again
                    continue
                raise
            _REUSED.inc()
            return found

    def result_now(
        self, shape: Shape, event: str, execute: Callable[[], EncodedResult | None]
    ) -> EncodedResult | None:
        """`result` without waiting: None when `execute` cannot run at once, or is running."""
        key = (shape, event)
        pending = self._results.get(key)
        if pending is not None:
            if pending.done() and not pending.cancelled():
                _REUSED.inc()
                return pending.result()
            return None
        found = execute()
        if found is None:
            return None
        done = asyncio.get_running_loop().create_future()
        done.set_result(found)
        self._results[key] = done
        self._bytes += len(found.payload)
        self._evict()
        return found

    async def _execute(
        self, key: tuple[Shape, str], execute: Callable[[], Awaitable[EncodedResult]]
    ) -> EncodedResult:
        pending = asyncio.get_running_loop().create_future()
        self._results[key] = pending
        try:
            found = await execute()
        except BaseException:
            if self._results.get(key) is pending:
                del self._results[key]
            pending.cancel()  # waiters execute it themselves
            raise
        pending.set_result(found)
        self._bytes += len(found.payload)
        self._evict()
        return found

    def _evict(self) -> None:
        while len(self._results) > self._kept or self._bytes > self._kept_bytes:
            oldest = next(iter(self._results))
            if not self._results[oldest].done():
                return  # the oldest is still executing: it goes once done
            dropped = self._results.pop(oldest)
            self._bytes -= len(dropped.result().payload)


def _canonical(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)


def encode_payload(data: dict[str, Any] | None, errors: list[Any] | None) -> str:
    """The `next` message's payload, as strawberry would encode it."""
    payload: dict[str, Any] = {"data": data}
    if errors:
        payload["errors"] = [error.formatted for error in errors]
    return json.dumps(payload, separators=(",", ":"))
