"""Executing GraphQL requests: cached parse and validation, error codes, masking.

Strawberry's own `Schema.execute` parses and validates every request and runs
its extension machinery around each step; for a registry read by dashboards and
CI in tight loops that was most of the time of a request. Here a document is
parsed and validated once per distinct query text, then executed by
graphql-core with Strawberry's execution context, so resolvers and types are
Strawberry's as usual.

Only authenticated requests get here (server/graphql_http.py refuses the others
before reading their body), so the cache holds only what token holders sent.
Parsing stops after MAX_TOKENS tokens, and the cache is bounded by the bytes of
the texts it keeps (a parsed document takes about 100 times its text), not
only by their number.
"""

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.utils.await_maybe import await_maybe

from resolvers import audit, unauthenticated
from resolvers.context import RequestContext
from resolvers.errors import RegistryError
from schema import limits, production_read
from schema.limits import MAX_TOKENS, QUERY_TOO_COMPLEX, QueryCostRule
from schema.production_read import ProductionRead
from schema.schema import schema
from storage.clock import utcnow

logger = logging.getLogger("modelreg.graphql")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"
BAD_REQUEST = "BAD_REQUEST"
SUBSCRIPTION_OVER_HTTP = (
    "subscriptions run over a WebSocket: open ws://.../graphql with the "
    "graphql-transport-ws protocol"
)
MAX_QUERY_LENGTH = 100_000
# Documents longer than this are parsed for each request, never kept.
MAX_CACHED_QUERY_LENGTH = 16_384
# The texts kept in the cache add up to at most this (about 25 MB of parsed documents).
CACHE_TEXT_BUDGET = 256 * 1024

_RULES = (*specified_rules, QueryCostRule)
# Strawberry's check is faster than inspect.isawaitable; it is typed as a plain bool.
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


@dataclass(frozen=True, slots=True)
class Response:
    """What goes back to the client: the result body, and whether the request was bad."""

    body: dict[str, Any]
    bad_request: bool = False
    unauthenticated: bool = False
    # The operation that ran (for the request's log record and span); None when none did.
    operation: OperationDefinitionNode | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    document: DocumentNode | None
    errors: list[GraphQLError]
    # The cost turns on page sizes given as variables: check it per request.
    cost_needs_variables: bool = False
    # The production read's own path, for a document of its shape (schema/production_read.py).
    production_read: ProductionRead | None = None


class Executor:
    """Runs GraphQL operations against the registry schema."""

    def __init__(self, cache_size: int = 1024, cache_text_budget: int = CACHE_TEXT_BUDGET) -> None:
        self._cache: OrderedDict[str, Prepared] = OrderedDict()
        self._cache_size = cache_size
        self._cache_text_budget = cache_text_budget
        self._cached_text = 0
        self._schema = schema._schema
        self._context_class = schema.execution_context_class

    @property
    def cached_text_length(self) -> int:
        """The total length of the query texts the cache holds."""
        return self._cached_text

    @property
    def graphql_schema(self) -> GraphQLSchema:
        return self._schema

    @property
    def context_class(self) -> Any:
        """The execution context class strawberry's resolvers need."""
        return self._context_class

    def prepare(self, query: str) -> Prepared:
        """The parsed and validated document (errors with codes), cached by query text."""
        prepared = self._cache.get(query)
        if prepared is not None:
            self._cache.move_to_end(query)
            return prepared
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLSyntaxError as error:
            # graphql-core says so only in the message: "Document contains more than N tokens."
            too_long = "tokens. Parsing aborted" in error.message
            code = QUERY_TOO_COMPLEX if too_long else PARSE_FAILED
            prepared = Prepared(None, [with_code(error, code)])
        else:
            errors = [
                with_code(e, VALIDATION_FAILED) for e in validate(self._schema, document, _RULES)
            ]
            deferred = not errors and limits.needs_variables(self._schema, document)
            fast = None if errors or deferred else production_read.plan(self._schema, document)
            prepared = Prepared(document, errors, deferred, fast)
        if len(query) <= MAX_CACHED_QUERY_LENGTH:
            self._remember(query, prepared)
        return prepared

    def _remember(self, query: str, prepared: Prepared) -> None:
        self._cache[query] = prepared
        self._cached_text += len(query)
        while len(self._cache) > self._cache_size or self._cached_text > self._cache_text_budget:
            evicted, _ = self._cache.popitem(last=False)
            self._cached_text -= len(evicted)

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        context: RequestContext,
    ) -> Response:
        if len(query) > MAX_QUERY_LENGTH:
            error = GraphQLError(f"query is longer than {MAX_QUERY_LENGTH} characters")
            return _errors_only([with_code(error, QUERY_TOO_COMPLEX)])
        if context.principal is None:  # the HTTP layer refuses these before reading the body
            refusal = unauthenticated.refusal(context)
            body = {"errors": [{"message": refusal.message, "extensions": refusal.extensions}]}
            return Response(body, unauthenticated=True)
        prepared = self.prepare(query)
        if prepared.errors or prepared.document is None:
            return _errors_only(prepared.errors)
        if prepared.cost_needs_variables:
            problem = limits.request_problem(
                self._schema, prepared.document, operation_name, variables
            )
            if problem is not None:
                return _errors_only([GraphQLError(problem, extensions={"code": QUERY_TOO_COMPLEX})])
        operation = get_operation_ast(prepared.document, operation_name)
        if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
            error = GraphQLError(SUBSCRIPTION_OVER_HTTP, extensions={"code": BAD_REQUEST})
            return _errors_only([error])
        try:
            fast = prepared.production_read
            if fast is not None and operation is fast.operation:
                data = await fast.run(variables, context)
                if data is not None:
                    return Response({"data": data}, operation=operation)
            return await self._run(prepared.document, variables, operation_name, context, operation)
        finally:
            if context.refusals:  # most requests have none: no clock read, no call
                await audit.write_refusals(context.db, context.refusals, context.caller, utcnow())

    async def _run(
        self,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        context: RequestContext,
        operation: OperationDefinitionNode | None,
    ) -> Response:
        result = await await_maybe(
            execute(
                self._schema,
                document,
                context_value=context,
                variable_values=dict(variables) if variables is not None else None,
                operation_name=operation_name,
                is_awaitable=_is_awaitable,
                **execution_context_class_kwargs(self._context_class),
            )
        )
        assert isinstance(result, ExecutionResult)
        if result.errors is None:
            return Response({"data": result.data}, operation=operation)
        errors = [client_error(e).formatted for e in result.errors]
        body: dict[str, Any] = {"data": result.data, "errors": errors}
        if result.data is None and all(e.path is None for e in result.errors):
            # Nothing ran: variables did not match their types, or no such operation.
            return Response(body, bad_request=True, operation=operation)
        return Response(body, operation=operation)


def with_code(error: GraphQLError, code: str) -> GraphQLError:
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


def _errors_only(errors: list[GraphQLError]) -> Response:
    return Response({"errors": [e.formatted for e in errors]}, bad_request=True)


def client_error(error: GraphQLError) -> GraphQLError:
    """Expected errors keep their message and code; anything else is masked and logged."""
    original = error.original_error
    if isinstance(original, RegistryError):
        return error
    if original is None or isinstance(original, GraphQLError):
        # graphql-core's own errors: variable coercion, unknown operation.
        return with_code(error, BAD_USER_INPUT)
    logger.error(
        "unexpected error in %s",
        ".".join(str(p) for p in error.path or ()),
        exc_info=(type(original), original, original.__traceback__),
    )
    return GraphQLError(
        "Internal server error", error.nodes, path=error.path, extensions={"code": INTERNAL}
    )
