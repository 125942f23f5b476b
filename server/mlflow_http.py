"""MLflow's Model Registry REST API over HTTP: /api/2.0/mlflow/... (see mlflow_api/).

As for /graphql, authentication comes first: a request without a valid token
is refused with 401 (MLflow's UNAUTHENTICATED body) before its body or query
is read, costing one token lookup and a throttled audit row. The token comes
as MLflow's client sends MLFLOW_TRACKING_TOKEN (`Authorization: Bearer mr_...`)
or, from MLFLOW_TRACKING_USERNAME/PASSWORD, as HTTP Basic with the token as the
password (the user name is ignored). Bodies are bounded by
MODELREG_MAX_BODY_BYTES; a body that is not a JSON object is
INVALID_PARAMETER_VALUE.
"""

import base64
import binascii
import logging
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mlflow_api import dispatch
from mlflow_api.errors import (
    INTERNAL,
    INVALID_PARAMETER_VALUE,
    UNAUTHENTICATED,
    MlflowError,
    endpoint_not_found,
    mlflow_error,
)
from mlflow_api.routes import PREFIX, ROUTES
from resolvers import unauthenticated
from resolvers.audit_throttle import AuditThrottle
from resolvers.authentication import authenticate
from resolvers.authorization import UNAUTHENTICATED_ADMIN
from resolvers.context import RequestContext
from resolvers.errors import DatabaseError
from server.bodies import BodyTooLarge, read_body
from server.graphql_http import REQUEST_ID_HEADER, request_id_of
from server.request_log import observed
from server.request_scope import RequestScope
from server.settings import Settings

__all__ = ["PREFIX", "MlflowEndpoint", "bearer_header"]

logger = logging.getLogger("modelreg")

JSON = "application/json"
# More fields than any MLflow message has: a query string is parsed no further.
_QUERY_FIELDS_MAX = 100


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def _error(error: MlflowError, headers: dict[str, str]) -> Response:
    return _json(error.body, error.status, headers)


def bearer_header(authorization: str | None) -> str | None:
    """The Authorization header as `authenticate` reads it: Basic's password is the token."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return authorization
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return authorization  # refused as malformed by `authenticate`
    _, colon, password = decoded.partition(":")
    return f"Bearer {password}" if colon else authorization


class MlflowEndpoint:
    """Every /api/2.0/mlflow/... request, bound to the app's settings."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._throttle = AuditThrottle()

    async def handle(self, request: Request) -> Response:
        with observed(request_id_of(request), request.headers) as scope:
            scope.method, scope.path = request.method, request.url.path
            try:
                response = await self._handle(request, scope)
            except Exception:
                logger.exception("unexpected error in %s %s", request.method, request.url.path)
                scope.outcome = "INTERNAL_SERVER_ERROR"
                response = _error(INTERNAL, {REQUEST_ID_HEADER: scope.request_id})
            scope.status = response.status_code
            return response

    async def _handle(self, request: Request, scope: RequestScope) -> Response:
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
            refused = await self._authenticated(request, context, scope, headers)
            if refused is not None:
                return refused
            path = request.url.path.removeprefix(PREFIX)
            route = ROUTES.get((request.method, path))
            if route is None:
                scope.outcome = "ENDPOINT_NOT_FOUND"
                return _error(endpoint_not_found(request.method, request.url.path), headers)
            scope.operation = route.action
            scope.operation_type = "mutation" if route.writes else "query"
            try:
                values, from_query = await self._fields(request)
            except BodyTooLarge:
                scope.outcome = "BAD_REQUEST"
                too_large = MlflowError(INVALID_PARAMETER_VALUE, 413, "request body is too large")
                return _error(too_large, headers)
            except ValueError as error:
                scope.outcome = "BAD_USER_INPUT"
                return _error(MlflowError(INVALID_PARAMETER_VALUE, 400, str(error)), headers)
            outcome = await dispatch.call(context, route, values, from_query=from_query)
        finally:
            await context.close()
        scope.outcome = outcome.code
        extra = {"retry-after": "1"} if outcome.status == 503 else {}
        return _json(outcome.body, outcome.status, {**headers, **extra})

    async def _authenticated(
        self,
        request: Request,
        context: RequestContext,
        scope: RequestScope,
        headers: dict[str, str],
    ) -> Response | None:
        """None when the caller has a valid token; else the refusal to send."""
        if self._settings.auth == "disabled":
            context.principal = UNAUTHENTICATED_ADMIN
        else:
            try:
                await authenticate(context, bearer_header(request.headers.get("authorization")))
            except DatabaseError as error:  # the token could not be looked up
                scope.outcome = error.code
                mapped = mlflow_error(error)
                return _error(mapped, {**headers, "retry-after": "1"})
        scope.actor = context.actor
        if context.principal is not None:
            return None
        await unauthenticated.audit_refusal(context, self._throttle)
        scope.outcome = "UNAUTHENTICATED"
        refusal = MlflowError(UNAUTHENTICATED, 401, context.auth_problem)
        sent = "authorization" in request.headers
        challenge = 'Bearer realm="modelreg"' + (', error="invalid_token"' if sent else "")
        return _error(refusal, {**headers, "www-authenticate": challenge})

    async def _fields(self, request: Request) -> tuple[dict[str, Any], bool]:
        """The request message: (fields, whether they came from the query string)."""
        query = parse_qs(
            request.url.query, keep_blank_values=True, max_num_fields=_QUERY_FIELDS_MAX
        )
        if request.method == "GET":
            return dict(query), True
        body = await read_body(request, self._settings.max_body_bytes)
        if not body.strip():
            return dict(query), True
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ValueError("the request body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise ValueError("the request body must be a JSON object")
        return payload, False
