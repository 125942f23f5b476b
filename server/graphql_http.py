"""GraphQL over HTTP: POST application/json at /graphql, GraphiQL on GET.

Authentication comes first: a request without a valid token is refused with
401 before its body is read, so it costs one token lookup and, a few times a
minute per address, one audit row; nothing is parsed, validated or cached.
Transport errors (a body that is not JSON, not a GraphQL request, too large)
get HTTP 400 (413 when too large) with a GraphQL-shaped error body and code
BAD_REQUEST. A body is refused by its Content-Length when that is too large,
and a streamed one stops being read at the limit. Requests that cannot run
(syntax, validation, variables) get 400; requests that ran get 200, with any
errors in `errors`.
"""

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from resolvers import unauthenticated
from resolvers.audit_throttle import AuditThrottle
from resolvers.authentication import authenticate
from resolvers.authorization import UNAUTHENTICATED_ADMIN
from resolvers.context import RequestContext, new_request_id
from resolvers.errors import DatabaseError
from schema.execution import Executor
from server import request_metrics
from server.bodies import BodyTooLarge, read_body
from server.request_log import observed, operation_label, outcome_of
from server.request_scope import RequestScope
from server.settings import Settings

JSON = "application/json"
REQUEST_ID_HEADER = "x-request-id"
# A caller's own request id is kept when it looks like one (it ends up in the audit log).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ACCEPTED_TYPES = (JSON, "application/graphql-response+json")


# The outcome logged for a refusal made before any GraphQL ran.
_STATUS_OUTCOMES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    405: "BAD_REQUEST",
    413: "BAD_REQUEST",
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def transport_error_500() -> Response:
    """What the client gets when the endpoint itself fails (logged by the caller)."""
    body = {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }
    return _json(body, 500)


def transport_error(message: str, status: int = 400) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}, status)


def unauthenticated_response(
    request: Request, context: RequestContext, headers: dict[str, str]
) -> Response:
    """401 UNAUTHENTICATED, saying why (GraphQL-shaped, as /metrics answers it too)."""
    error = unauthenticated.refusal(context)
    body = {"errors": [{"message": error.message, "extensions": error.extensions}]}
    # RFC 6750: say invalid_token when one was sent, nothing more when none was.
    sent = "authorization" in request.headers
    problem = ', error="invalid_token"' if sent else ""
    challenge = f'Bearer realm="modelreg"{problem}'
    return _json(body, 401, {**headers, "www-authenticate": challenge})


class GraphQLEndpoint:
    """The two handlers of /graphql, bound to one executor and the app's settings."""

    def __init__(self, settings: Settings) -> None:
        self._executor = Executor()
        self._settings = settings
        self._throttle = AuditThrottle()
        self._ide = get_graphql_ide_html(graphql_ide="graphiql")

    @property
    def executor(self) -> Executor:
        """Shared with the WebSocket endpoint: one cache of parsed documents."""
        return self._executor

    @property
    def throttle(self) -> AuditThrottle:
        """Shared with the WebSocket endpoint: one budget of refusal audit rows per address."""
        return self._throttle

    async def post(self, request: Request) -> Response:
        with observed(request_id_of(request), request.headers) as scope:
            response = await self._post(request, scope)
            scope.status = response.status_code
            if scope.outcome is None:
                scope.outcome = _STATUS_OUTCOMES.get(response.status_code, "ok")
            request_metrics.observe(scope.operation, scope.outcome, scope.duration_ms / 1000)
            return response

    async def _post(self, request: Request, scope: RequestScope) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in _ACCEPTED_TYPES:
            return transport_error("send the GraphQL request as Content-Type: application/json")
        context = RequestContext(
            db=request.app.state.db,
            webhooks=request.app.state.webhooks,
            token_cache=request.app.state.token_cache,
            wake_live=request.app.state.live_hub.wake,
            request_id=scope.request_id,
            client_address=request.client.host if request.client else None,
        )
        headers = {REQUEST_ID_HEADER: context.request_id}
        try:
            if self._settings.auth == "disabled":
                context.principal = UNAUTHENTICATED_ADMIN
            else:
                try:
                    await authenticate(context, request.headers.get("authorization"))
                except DatabaseError as error:  # the token could not be looked up
                    scope.outcome = error.code
                    return _unavailable(error, headers)
            scope.actor = context.actor
            if context.principal is None:
                await unauthenticated.audit_refusal(context, self._throttle)
                return self._unauthenticated(request, context, headers)
            try:
                body = await read_body(request, self._settings.max_body_bytes)
            except BodyTooLarge:
                return transport_error("request body is too large", 413)
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                return transport_error("request body is not valid JSON")
            problem = _request_problem(payload)
            if problem is not None:
                return transport_error(problem)
            result = await self._executor.execute(
                payload["query"], payload.get("variables"), payload.get("operationName"), context
            )
        finally:
            await context.close()
        scope.outcome = outcome_of(result.body)
        if result.operation is not None:
            scope.operation = operation_label(result.operation)
            scope.operation_type = result.operation.operation.value
        else:
            scope.operation = payload.get("operationName")
        if result.unauthenticated:
            return self._unauthenticated(request, context, headers)
        return _json(result.body, 400 if result.bad_request else 200, headers)

    @staticmethod
    def _unauthenticated(
        request: Request, context: RequestContext, headers: dict[str, str]
    ) -> Response:
        return unauthenticated_response(request, context, headers)

    async def get(self, request: Request) -> Response:
        if self._settings.graphiql and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(self._ide)
        return transport_error("send GraphQL requests as POST with a JSON body", 405)


def _unavailable(error: DatabaseError, headers: dict[str, str]) -> Response:
    body = {"errors": [{"message": error.message, "extensions": error.extensions}]}
    extra = {"retry-after": "1"} if error.retryable else {}
    return _json(body, 503, {**headers, **extra})


def request_id_of(request: Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.fullmatch(given) else new_request_id()


def _request_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "the request body must be a JSON object"
    if not isinstance(payload.get("query"), str) or not payload["query"].strip():
        return "the request must have a non-empty string `query`"
    if not isinstance(payload.get("variables"), dict | None):
        return "`variables` must be a JSON object"
    if not isinstance(payload.get("operationName"), str | None):
        return "`operationName` must be a string"
    return None
