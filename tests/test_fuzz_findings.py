"""Regressions for what `make fuzz` (bench/fuzz) found; one test per finding."""

import asyncio

from tests.graphql import GraphQLClient, register, transition

REQUEST = """
mutation($input: RequestTransitionInput!) {
  requestTransition(input: $input) { transitionRequest { id } }
}"""

# As the fuzzer sent it: `stageHistory`'s bad cursor nulls the whole answer,
# while the `model` branch is still reading.
FAILING_SIBLING = """
query($id: ID!) {
  transitionRequest(id: $id) {
    toStage
    model {
      stagingVersions {
        updatedBy
        transitionRequests(status: PENDING) { alias model { name createdAt } }
      }
    }
    modelVersion {
      source
      model { updatedBy }
      aliases
      stageHistory(first: 0, after: "") { totalCount }
    }
  }
}"""


async def test_a_failing_field_does_not_break_the_reads_of_its_siblings(
    api: GraphQLClient,
) -> None:
    await register(api, "fraud", 2)
    await transition(api, "fraud", 2, "STAGING")
    data = await api.data(
        REQUEST, {"input": {"modelName": "fraud", "version": 1, "stage": "PRODUCTION"}}
    )
    request_id = data["requestTransition"]["transitionRequest"]["id"]

    # The bad cursor nulls `modelVersion`, whose pending reads (its `model`) are
    # cancelled. The cancelled statement spoiled the request's read connection,
    # so the next batch on it, in the `model` branch, answered
    # INTERNAL_SERVER_ERROR and nulled the whole answer.
    for _ in range(10):
        response = await api.post(FAILING_SIBLING, {"id": request_id})
        body = response.json()
        assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
        found = body["data"]["transitionRequest"]
        assert found["modelVersion"] is None
        staging = found["model"]["stagingVersions"]
        assert staging == [{"updatedBy": api.actor, "transitionRequests": []}]


# As the fuzzer sent it: the bad cursor under `stagingVersions` nulls the
# payload while the batches of its siblings are still reading.
REQUEST_WITH_BAD_CURSOR = """
mutation {
  requestTransition(input: {modelName: "fraud", version: 1, stage: STAGING}) {
    transitionRequest {
      id
      model {
        latestVersion {
          metrics { value }
          transitionRequests(status: PENDING) { toStage requestedBy model { updatedBy } }
        }
        stagingVersions { source stageHistory(first: 0, after: "") { totalCount } }
      }
    }
  }
}"""
READ_WITH_BAD_CURSOR = """{
  model(name: "fraud") {
    latestVersion {
      model { productionVersion { runId } }
      stageHistory(first: 0, after: "") { totalCount }
    }
    productionVersion { createdAt aliases }
  }
}"""
COUNT_REQUESTS = '{ transitionRequests(filter: {model: "fraud"}) { totalCount } }'


async def test_concurrent_requests_survive_reads_cancelled_under_them(api: GraphQLClient) -> None:
    await register(api, "fraud", 3)
    await transition(api, "fraud", 2, "PRODUCTION")
    await transition(api, "fraud", 3, "STAGING")

    async def answer(query: str) -> tuple[int, list[str]]:
        # A request that hangs is a failure too (one did before the fix).
        response = await asyncio.wait_for(api.post(query), timeout=30)
        codes = [error["extensions"]["code"] for error in response.json().get("errors", [])]
        return response.status_code, codes

    # A cancelled batch's connection was invalidated, and a second cancellation
    # during that left a closed connection in the pool: the requests that took
    # it next answered INTERNAL_SERVER_ERROR (or a plain HTTP 500, or hung).
    rounds = 25
    for _ in range(rounds):
        sent = [REQUEST_WITH_BAD_CURSOR] * 3 + [READ_WITH_BAD_CURSOR] * 2
        answers = await asyncio.gather(*(answer(query) for query in sent))
        assert answers == [(200, ["BAD_USER_INPUT"])] * len(sent)
    # Each request was made once: the error was in the payload, after the commit.
    data = await api.data(COUNT_REQUESTS)
    assert data["transitionRequests"]["totalCount"] == 3 * rounds
