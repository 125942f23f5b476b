"""The process bench/instructions.py counts: the registry in-process, seeded, then N writes.

    python bench/instructions_worker.py create|transition|read COUNT WARMUP

Run with the server's checkout as the working directory (its code is
imported from there) and MODELREG_DATABASE_URL and BENCH_TOKEN (an admin
token) set. It may use only what every measured commit has: create_app,
Settings, the GraphQL schema's mutations.
"""

import asyncio
import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx

sys.path.insert(0, os.getcwd())  # the measured checkout, not wherever this file lies

from server.app import create_app
from server.settings import Settings

CREATE = """
mutation($i: CreateModelVersionInput!) {
  createModelVersion(input: $i) { modelVersion { version } }
}"""
TRANSITION = """
mutation($i: TransitionStageInput!) {
  transitionStage(input: $i) { modelVersion { version stage } archived { version } }
}"""
OPEN_GATE = """
mutation { setStagePolicy(input: {stage: PRODUCTION, requiredApprovals: 0}) { policy { gated } } }
"""
READ_PRODUCTION = """
query($n: String!) { model(name: $n) { productionVersion { version source runId stage } } }"""
STAGE_MODELS = [f"stage-{i:02d}" for i in range(16)]
Request = tuple[str, dict[str, Any]]


def version_input(model: str, run: int) -> dict[str, Any]:
    """What `make bench` registers (bench/modelreg_target.py)."""
    return {
        "modelName": model,
        "source": f"s3://bench-artifacts/{model}/run-{run}/model",
        "runId": f"run-{run}",
        "metrics": [{"key": "accuracy", "value": 0.93}, {"key": "loss", "value": 0.21}],
        "params": [{"key": "learning_rate", "value": "0.001"}, {"key": "epochs", "value": "10"}],
        "tags": [{"key": "team", "value": "bench"}],
    }


def create(model: str, run: int) -> Request:
    return CREATE, {"i": version_input(model, run)}


def promote(model: str, version: int) -> Request:
    return TRANSITION, {"i": {"modelName": model, "version": version, "stage": "PRODUCTION"}}


def measured(operation: str, count: int) -> Iterator[Request]:
    """Creates of the next version; promotions of version 2, then 1, ... of each model;
    or reads of a model's production version (what `make bench` reads)."""
    for i in range(count):
        if operation == "create":
            yield create("create", i + 2)
        elif operation == "read":
            yield READ_PRODUCTION, {"n": STAGE_MODELS[i % len(STAGE_MODELS)]}
        else:
            turn, index = divmod(i, len(STAGE_MODELS))
            yield promote(STAGE_MODELS[index], 2 if turn % 2 == 0 else 1)


def seeding() -> Iterator[Request]:
    yield OPEN_GATE, {}
    yield create("create", 1)
    for model in STAGE_MODELS:
        yield create(model, 1)
        yield create(model, 2)
        yield promote(model, 1)


async def send(http: httpx.AsyncClient, headers: dict[str, str], request: Request) -> None:
    query, variables = request
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise SystemExit(f"request failed: {body}")


async def main(operation: str, count: int, warmup: int) -> None:
    headers = {"authorization": f"Bearer {os.environ['BENCH_TOKEN']}"}
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://modelreg") as http:
            for request in seeding():
                await send(http, headers, request)
            for request in measured(operation, warmup + count):
                await send(http, headers, request)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
