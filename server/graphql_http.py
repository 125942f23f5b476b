"""GraphQL over HTTP: POST application/json at /graphql, GraphiQL on GET.

Transport errors (a body that is not JSON, not a GraphQL request, too large)
get HTTP 400 (413 when too large) with a GraphQL-shaped error body and code BAD_REQUEST.
Requests that cannot run (syntax, validation, variables) get 400; requests
that ran get 200, with any errors in `errors`.
"""

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from resolvers.authentication import authenticate
from resolvers.authorization import UNAUTHENTICATED_ADMIN
from resolvers.context import RequestContext, new_request_id
from schema.execution import Executor
from server.settings import Settings

JSON = "application/json"
REQUEST_ID_HEADER = "x-request-id"
# A caller's own request id is kept when it looks like one (it ends up in the audit log).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ACCEPTED_TYPES = (JSON, "application/graphql-response+json")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def transport_error(message: str, status: int = 400) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}, status)


class GraphQLEndpoint:
    """The two handlers of /graphql, bound to one executor and the app's settings."""

    def __init__(self, settings: Settings) -> None:
        self._executor = Executor()
        self._settings = settings
        self._ide = get_graphql_ide_html(graphql_ide="graphiql")

    async def post(self, request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in _ACCEPTED_TYPES:
            return transport_error("send the GraphQL request as Content-Type: application/json")
        body = await request.body()
        if len(body) > self._settings.max_body_bytes:
            return transport_error("request body is too large", 413)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return transport_error("request body is not valid JSON")
        problem = _request_problem(payload)
        if problem is not None:
            return transport_error(problem)
        context = RequestContext(
            db=request.app.state.db,
            webhooks=request.app.state.webhooks,
            token_cache=request.app.state.token_cache,
            request_id=_request_id(request),
            client_address=request.client.host if request.client else None,
        )
        try:
            if self._settings.auth == "disabled":
                context.principal = UNAUTHENTICATED_ADMIN
            else:
                await authenticate(context, request.headers.get("authorization"))
            result = await self._executor.execute(
                payload["query"], payload.get("variables"), payload.get("operationName"), context
            )
        finally:
            await context.close()
        headers = {REQUEST_ID_HEADER: context.request_id}
        if result.unauthenticated:
            # RFC 6750: say invalid_token when one was sent, nothing more when none was.
            sent = "authorization" in request.headers
            error = ', error="invalid_token"' if sent else ""
            headers["www-authenticate"] = f'Bearer realm="modelreg"{error}'
            return _json(result.body, 401, headers)
        return _json(result.body, 400 if result.bad_request else 200, headers)

    async def get(self, request: Request) -> Response:
        if self._settings.graphiql and "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(self._ide)
        return transport_error("send GraphQL requests as POST with a JSON body", 405)


def _request_id(request: Request) -> str:
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
