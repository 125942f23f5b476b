"""A small GraphQL client for tests, and assertions on its answers."""

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient
    # The token sent as `Authorization: Bearer`, and the actor name it stands for.
    token: str | None = None
    actor: str = "anonymous"

    def as_token(self, token: str | None, actor: str = "anonymous") -> "GraphQLClient":
        """The same server, called with another token (None: without one)."""
        return GraphQLClient(self.http, token, actor)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header this client sends (none without a token)."""
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run an operation that must succeed; return its `data`."""
        response = await self.post(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, *, status: int = 200
    ) -> dict[str, Any]:
        """Run an operation that must fail; return its single error."""
        response = await self.post(query, variables)
        body = response.json()
        assert response.status_code == status, body
        assert len(body.get("errors", [])) == 1, body
        error: dict[str, Any] = body["errors"][0]
        assert "Traceback" not in str(body)
        return error

    async def code(
        self, query: str, variables: dict[str, Any] | None = None, *, status: int = 200
    ) -> str:
        """The `extensions.code` of the single error of a failing operation."""
        error = await self.error(query, variables, status=status)
        return str(error["extensions"]["code"])


CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version stage } }
}
"""

TRANSITION = """
mutation($input: TransitionStageInput!) {
  transitionStage(input: $input) { modelVersion { version stage } archived { version stage } }
}
"""


async def register(api: GraphQLClient, model: str, count: int = 1, **fields: Any) -> list[int]:
    """Register `count` versions of `model`; return their numbers."""
    numbers = []
    for _ in range(count):
        payload = {"modelName": model, "source": f"s3://models/{model}", **fields}
        data = await api.data(CREATE_VERSION, {"input": payload})
        numbers.append(data["createModelVersion"]["modelVersion"]["version"])
    return numbers


async def transition(
    api: GraphQLClient, model: str, version: int, stage: str, **fields: Any
) -> dict[str, Any]:
    payload = {"modelName": model, "version": version, "stage": stage, **fields}
    data = await api.data(TRANSITION, {"input": payload})
    result: dict[str, Any] = data["transitionStage"]
    return result
