"""Reading a running MLflow registry over its REST API (`/api/2.0/mlflow/...`).

Only the two searches are used, page by page with `page_token`: every
registered model (with its tags and aliases), then each model's versions.
Authentication is the MLflow client's: a bearer token, or basic auth.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

API = "/api/2.0/mlflow"
# MLflow's own upper bound for registered-model searches; plenty for versions too.
PAGE_SIZE = 1000
TIMEOUT_S = 60.0
# Transport errors, 429 and 5xx are tried again after 1 s and 2 s.
RETRY_DELAYS_S = (1.0, 2.0)


class MlflowUnavailable(Exception):
    """MLflow could not be read (unreachable, refused the credentials, answered an error)."""


class UnsearchableName(Exception):
    """A model name that no filter string can quote (it holds both kinds of quote)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str | None = None
    username: str | None = None
    password: str | None = None

    def auth(self) -> httpx.Auth | None:
        if self.token:
            return _Bearer(self.token)
        if self.username is not None:
            return httpx.BasicAuth(self.username, self.password or "")
        return None


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request


def without_credentials(url: str) -> str:
    """The URL as it may be shown and stored: no user:password@."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class MlflowReader:
    def __init__(self, url: str, credentials: Credentials) -> None:
        self.url = without_credentials(url).rstrip("/")
        parts = urlsplit(url)
        auth = credentials.auth()
        if auth is None and parts.username is not None:
            auth = httpx.BasicAuth(parts.username, parts.password or "")
        self._client = httpx.AsyncClient(
            base_url=self.url + API, auth=auth, timeout=TIMEOUT_S, follow_redirects=False
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def registered_models(self) -> list[dict[str, Any]]:
        """Every registered model, as MLflow's search returns it (tags and aliases included)."""
        return [m async for m in self._pages("/registered-models/search", {}, "registered_models")]

    async def model_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of one model."""
        query = {"filter": f"name = {_quoted(name)}"}
        return [v async for v in self._pages("/model-versions/search", query, "model_versions")]

    async def _pages(
        self, path: str, query: dict[str, str], key: str
    ) -> AsyncIterator[dict[str, Any]]:
        token: str | None = None
        while True:
            params = {**query, "max_results": str(PAGE_SIZE)}
            if token:
                params["page_token"] = token
            body = await self._get(path, params)
            for item in body.get(key, []):
                yield item
            token = body.get("next_page_token")
            if not token:
                return

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                response = await self._client.get(path, params=params)
            except httpx.TransportError as error:
                if delay is None:
                    raise MlflowUnavailable(
                        f"cannot reach MLflow at {self.url}: {error}"
                    ) from error
            else:
                retryable = response.status_code == 429 or response.status_code >= 500
                if not retryable or delay is None:
                    return self._body(path, response)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _body(self, path: str, response: httpx.Response) -> dict[str, Any]:
        where = f"MLflow at {self.url} answered GET {API}{path} with {response.status_code}"
        if response.status_code in (401, 403):
            raise MlflowUnavailable(
                f"{where}: pass --token, or set MLFLOW_TRACKING_TOKEN or "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
            )
        try:
            body = response.json()
        except ValueError as error:
            raise MlflowUnavailable(f"{where}, not JSON: is this an MLflow server?") from error
        if response.status_code != 200 or not isinstance(body, dict):
            detail = body.get("message", "") if isinstance(body, dict) else ""
            raise MlflowUnavailable(f"{where}: {detail}".rstrip(": "))
        return body


def _quoted(name: str) -> str:
    """`name` as a string literal of MLflow's filter syntax, which has no escapes."""
    if "'" not in name:
        return f"'{name}'"
    if '"' not in name:
        return f'"{name}"'
    raise UnsearchableName(
        "its name holds both ' and \", which MLflow's search filter cannot quote"
    )
