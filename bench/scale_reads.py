"""What the scale benchmark measures: the reads of issue 9's table, a point read and a write.

Every read asks for one page (25 rows) of something that grows with the
registry; none asks for totalCount, which is a count of every match by nature.
Every filter is asked twice: for a fixed handful of models (the same answer
at every size: a rare prefix, substring, tag, or a version in STAGING) and for
a fixed share of them (a domain prefix, a common substring, a team tag, a
version in NONE: the answer grows with the registry until the page is full),
see bench/scale_data.py.
"""

from typing import Any

import httpx

from bench.operation import Operation, json_body
from bench.scale_data import RARE_DOMAIN, RARE_OWNER, RARE_TASK, big_model_name

BIG = big_model_name(0)
WRITE_MODEL = big_model_name(1)
POINT_MODEL = big_model_name(2)

VERSIONS_PAGE = """query($n: String!, $after: String) { model(name: $n) {
  versions(first: 25, after: $after) { edges { node { version stage source runId } } }
} }"""
STAGE_HISTORY = """query($n: String!) { model(name: $n) {
  stageHistory(first: 25) { edges { node { version fromStage toStage actor } } }
} }"""
VERSION_HISTORY = """query($n: String!, $v: Int!) { modelVersion(name: $n, version: $v) {
  stageHistory(first: 10) { edges { node { fromStage toStage } } }
} }"""
# 10 models: the smallest registry (1k versions) has 13, so every size answers 100 rows.
NESTED = """{ models(first: 10) { edges { node {
  name versions(first: 10) { edges { node { version stage } } }
} } } }"""
FILTERED = """query($f: ModelFilter!) {
  models(first: 25, filter: $f) { edges { node { name } } }
}"""
# 10: the big model has 11 requests at 1k, so every size answers 10 rows.
REQUESTS = """query($n: String!) {
  transitionRequests(first: 10, filter: {model: $n}) { edges { node { id status } } }
}"""
POINT = """query($n: String!) { model(name: $n) { productionVersion { version source stage } } }"""
FIRST_CURSOR = """query($n: String!) { model(name: $n) {
  versions(first: 25) { pageInfo { endCursor } }
} }"""
CREATE_VERSION = """mutation($i: CreateModelVersionInput!) {
  createModelVersion(input: $i) { modelVersion { version } }
}"""


def first_page_cursor(client: httpx.Client) -> str:
    """The cursor after the big model's first page of versions (for the second page)."""
    response = client.post("/graphql", json={"query": FIRST_CURSOR, "variables": {"n": BIG}})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    cursor = body.get("data", {}).get("model", {}).get("versions", {}).get("pageInfo", {})
    if not cursor.get("endCursor"):
        raise RuntimeError(f"no cursor after the first page of {BIG}: {body}")
    return str(cursor["endCursor"])


def rows_in_answer(client: httpx.Client, operation: Operation) -> int:
    """How many nodes the read answers (writes: 0), sent once before it is measured."""
    if operation.name.startswith("write"):
        return 0
    response = client.post(
        operation.path, content=operation.bodies[0], headers={"content-type": "application/json"}
    )
    response.raise_for_status()
    return response.text.count('"node"') or response.text.count('"version"')


def operations(headers: dict[str, str], cursor: str, big_versions: int) -> list[Operation]:
    def graphql(name: str, query: str, variables: dict[str, Any]) -> Operation:
        body = json_body({"query": query, "variables": variables})
        return Operation(name, "POST", "/graphql", [body], '"errors"', headers)

    def filtered(name: str, model_filter: dict[str, Any]) -> Operation:
        return graphql(name, FILTERED, {"f": model_filter})

    version_input = {
        "modelName": WRITE_MODEL,
        "source": "s3://bench/scale/write",
        "metrics": [{"key": "accuracy", "value": 0.9}],
    }
    return [
        graphql("point: productionVersion", POINT, {"n": POINT_MODEL}),
        graphql("big model versions(first: 25)", VERSIONS_PAGE, {"n": BIG}),
        graphql("big model versions, page 2", VERSIONS_PAGE, {"n": BIG, "after": cursor}),
        graphql("big model stageHistory(first: 25)", STAGE_HISTORY, {"n": BIG}),
        graphql("a version's stageHistory", VERSION_HISTORY, {"n": BIG, "v": big_versions // 2}),
        graphql("models(10) > versions(10) (batched)", NESTED, {}),
        graphql("transitionRequests(10, model: big)", REQUESTS, {"n": BIG}),
        filtered("nameStartsWith (5 models)", {"nameStartsWith": f"{RARE_DOMAIN}-"}),
        filtered("nameStartsWith (1 in 20)", {"nameStartsWith": "video-"}),
        filtered("nameContains (5 models)", {"nameContains": RARE_TASK}),
        filtered("nameContains (1 in 7)", {"nameContains": "ranker"}),
        filtered("tags (5 models)", {"tags": [{"key": "owner", "value": RARE_OWNER}]}),
        filtered("tags (1 in 20)", {"tags": [{"key": "team", "value": "team-07"}]}),
        filtered("hasVersionInStage STAGING (5 models)", {"hasVersionInStage": "STAGING"}),
        filtered("hasVersionInStage NONE (1 in 10)", {"hasVersionInStage": "NONE"}),
        graphql("write: createModelVersion", CREATE_VERSION, {"i": version_input}),
    ]
