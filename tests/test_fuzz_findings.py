"""Regressions for what `make fuzz` (bench/fuzz) found; one test per finding."""

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
