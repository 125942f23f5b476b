"""Running subscriptions for strawberry's graphql-transport-ws handler.

The WebSocket protocol is strawberry's (server/graphql_ws.py); what runs is
ours, as for POST /graphql: documents are parsed and validated once per text
by the same `Executor` (the cost rule included), errors keep their codes and
anything unexpected is masked. The handler calls `stream` where it would call
strawberry's `Schema.stream`.
"""

import asyncio
from collections.abc import AsyncGenerator, Coroutine, Mapping
from functools import partial
from typing import Any

from graphql import (
    ExecutionResult,
    Executor,
    GraphQLError,
    OperationType,
    create_source_event_stream,
    get_operation_ast,
)
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from strawberry.types.execution import ExecutionResult as StreamedResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.await_maybe import await_maybe

from resolvers.context import RequestContext
from resolvers.errors import RegistryError
from resolvers.live.closing import Closed
from schema import limits
from schema.event_types import RegistryEvent
from schema.execution import (
    BAD_REQUEST,
    BAD_USER_INPUT,
    MAX_QUERY_LENGTH,
    client_error,
    with_code,
)
from schema.execution import Executor as DocumentExecutor
from schema.limits import QUERY_TOO_COMPLEX
from schema.shared_results import EXECUTED, EncodedResult, Shape, SharedResults, encode_payload

QUERY_OVER_WEBSOCKET = (
    "over the WebSocket only subscriptions run: send queries and mutations as POST /graphql"
)


class SubscriptionRunner:
    """What strawberry's WebSocket handler needs of a schema: `stream`."""

    def __init__(self, executor: DocumentExecutor, shared: SharedResults | None = None) -> None:
        self._executor = executor
        self._shared = shared or SharedResults()

    async def stream(
        self,
        query: str,
        variable_values: Mapping[str, Any] | None = None,
        context_value: RequestContext | None = None,
        root_value: Any = None,
        operation_name: str | None = None,
    ) -> AsyncGenerator[StreamedResult, None]:
        """The results of a subscription, one per event (see schema/shared_results.py).

        A first result that is a `PreExecutionError` ends the operation with an
        `error` message: nothing ran (the document, its cost or its arguments
        were refused). Each result is executed with fresh DataLoaders and gives
        its read connection back before it is sent: a subscription may wait
        for hours, and its client may be slow to read.
        """
        assert context_value is not None
        problems = self._problems(query, variable_values, operation_name)
        if problems:
            yield PreExecutionError(data=None, errors=problems)
            return
        document = self._executor.prepare(query).document
        assert document is not None
        executor_class = self._executor.context_class or ExecutorThrowingOnIncremental
        executor = executor_class.build(
            self._executor.graphql_schema,
            document,
            context_value=context_value,
            raw_variable_values=dict(variable_values) if variable_values is not None else None,
            operation_name=operation_name,
        )
        if isinstance(executor, list):  # the variables were refused
            yield PreExecutionError(data=None, errors=[client_error(e) for e in executor])
            return
        source = await await_maybe(create_source_event_stream(executor))
        try:
            if isinstance(source, ExecutionResult):  # refused before its resolver ran
                errors = [client_error(e) for e in source.errors or []]
                yield PreExecutionError(data=None, errors=errors)
                return
            shape = self._shared.shape(
                query, document, executor.operation, variable_values, context_value.principal
            )
            async for result in self._results(executor, source, shape, context_value):
                yield result
        finally:
            if not isinstance(source, ExecutionResult):
                await source.aclose()  # type: ignore[attr-defined]  # an async generator
            await context_value.close()

    async def _results(
        self, executor: Executor[Any], source: Any, shape: Shape, context: RequestContext
    ) -> AsyncGenerator[StreamedResult, None]:
        """One result per source event; a shareable one comes from `SharedResults`."""

        async def execute(event: Any) -> EncodedResult:
            await context.read_afresh()
            per_event = executor.build_per_event_executor(event)
            found = await await_maybe(per_event.execute_operation(False))
            assert isinstance(found, ExecutionResult)
            return encoded(found)

        def execute_now(event: RegistryEvent) -> EncodedResult | None:
            """`execute` when no resolver of the selection waits (a log row's fields never do)."""
            found = executor.build_per_event_executor(event).execute_operation(False)
            if not isinstance(found, ExecutionResult):
                if isinstance(found, Coroutine):
                    found.close()
                context.live_push = None  # this selection waits: not at once, now or later
                return None
            return encoded(found)

        def push(item: object) -> bool:
            """Send a shared result straight to the client, when the transport can at once."""
            send = context.live_send
            if send is None or not isinstance(item, RegistryEvent):
                return False
            result = self._shared.result_now(shape, item.cursor, partial(execute_now, item))
            return result is not None and send(result.payload)

        context.live_push = push
        first = True
        try:
            async for event in source:
                if isinstance(event, RegistryEvent):  # the log row is all its fields read
                    yield await self._shared.result(shape, event.cursor, partial(execute, event))
                else:
                    yield await execute(event)
                first = False
        except Closed:
            # The connection is being closed, with the reason (server/graphql_ws.py):
            # nothing more is sent, and the handler cancels this operation as it ends.
            await asyncio.Event().wait()
        except RegistryError as error:  # the use case refused, before or after its first item
            refused = GraphQLError(error.message, extensions=error.extensions)
            yield PreExecutionError(None, [refused]) if first else StreamedResult(None, [refused])
        finally:
            context.live_push = None

    def _problems(
        self, query: str, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> list[GraphQLError]:
        """Why a document sent over the WebSocket may not run (empty: it may)."""
        if len(query) > MAX_QUERY_LENGTH:
            error = GraphQLError(f"query is longer than {MAX_QUERY_LENGTH} characters")
            return [with_code(error, QUERY_TOO_COMPLEX)]
        prepared = self._executor.prepare(query)
        if prepared.errors or prepared.document is None:
            return prepared.errors
        operation = get_operation_ast(prepared.document, operation_name)
        if operation is None:
            missing = "the document has no such operation (name it in operationName)"
            return [GraphQLError(missing, extensions={"code": BAD_USER_INPUT})]
        if operation.operation != OperationType.SUBSCRIPTION:
            return [GraphQLError(QUERY_OVER_WEBSOCKET, extensions={"code": BAD_REQUEST})]
        if prepared.cost_needs_variables:
            schema = self._executor.graphql_schema
            found = limits.request_problem(schema, prepared.document, operation_name, variables)
            if found is not None:
                return [GraphQLError(found, extensions={"code": QUERY_TOO_COMPLEX})]
        return []


def encoded(found: ExecutionResult) -> EncodedResult:
    """An executed result with its `next` payload, errors masked as for POST /graphql."""
    EXECUTED.inc()
    errors = [client_error(e) for e in found.errors] if found.errors else None
    return EncodedResult(found.data, errors, payload=encode_payload(found.data, errors))
