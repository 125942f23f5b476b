"""compareModelVersions: metrics and params side by side, deltas against a baseline."""

from typing import Any

import pytest

from server.settings import Settings
from storage.database import Database
from tests.conftest import serving
from tests.graphql import GraphQLClient, register, transition
from tests.test_query_count import counting_statements

COMPARE = """query($versions: [Int!]!, $baseline: Int, $first: Int, $after: String,
               $only: Boolean = false, $name: String! = "fraud") {
  compareModelVersions(name: $name, versions: $versions, baseline: $baseline) {
    model { name }
    versions { version }
    baseline { version stage }
    metrics(first: $first, after: $after, onlyDifferent: $only) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { key baselineValue differs
        values { version value delta relativeDelta } } }
    }
    params(onlyDifferent: $only) {
      totalCount
      edges { node { key baselineValue differs values { version value differsFromBaseline } } }
    }
  } }"""


def pairs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]


async def fraud(api: GraphQLClient, *, production: bool = True) -> None:
    """Three versions; version 1 in PRODUCTION."""
    for metrics, params in (
        ({"auc": 0.9, "loss": 0.3, "zero": 0.0}, {"lr": "0.1", "depth": "6", "seed": "1"}),
        ({"auc": 0.93, "f1": 0.8, "zero": 1.0}, {"lr": "0.10", "depth": "6", "seed": "1"}),
        ({"auc": 0.95, "zero": 0.0}, {"lr": "0.2", "seed": "1"}),
    ):
        await register(api, "fraud", metrics=pairs(metrics), params=pairs(params))
    if production:
        await transition(api, "fraud", 1, "PRODUCTION")


async def compare(api: GraphQLClient, versions: list[int], **variables: Any) -> dict[str, Any]:
    data = await api.data(COMPARE, {"versions": versions, **variables})
    found: dict[str, Any] = data["compareModelVersions"]
    return found


def nodes(connection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["node"]["key"]: e["node"] for e in connection["edges"]}


async def test_against_the_production_version(api: GraphQLClient) -> None:
    await fraud(api)
    found = await compare(api, [2, 3])
    assert found["model"] == {"name": "fraud"}
    assert [v["version"] for v in found["versions"]] == [2, 3]
    assert found["baseline"] == {"version": 1, "stage": "PRODUCTION"}

    metrics = nodes(found["metrics"])
    assert list(metrics) == ["auc", "f1", "loss", "zero"]  # sorted, from every version
    auc = metrics["auc"]
    assert auc["baselineValue"] == 0.9
    assert [v["version"] for v in auc["values"]] == [2, 3]
    assert [v["delta"] for v in auc["values"]] == [pytest.approx(0.03), pytest.approx(0.05)]
    assert auc["values"][1]["relativeDelta"] == pytest.approx(0.05 / 0.9)
    # Present in some versions only: values and deltas are null where it is missing.
    assert metrics["f1"]["baselineValue"] is None
    assert metrics["f1"]["values"] == [
        {"version": 2, "value": 0.8, "delta": None, "relativeDelta": None},
        {"version": 3, "value": None, "delta": None, "relativeDelta": None},
    ]
    assert [v["value"] for v in metrics["loss"]["values"]] == [None, None]
    assert metrics["loss"]["differs"] is True
    # A baseline of 0 has a delta but no relative delta.
    assert metrics["zero"]["values"][0] == {
        "version": 2,
        "value": 1.0,
        "delta": 1.0,
        "relativeDelta": None,
    }

    params = nodes(found["params"])
    assert list(params) == ["depth", "lr", "seed"]
    # Compared as strings: 0.1 and 0.10 differ.
    assert [(v["value"], v["differsFromBaseline"]) for v in params["lr"]["values"]] == [
        ("0.10", True),
        ("0.2", True),
    ]
    assert [(v["value"], v["differsFromBaseline"]) for v in params["depth"]["values"]] == [
        ("6", False),
        (None, True),
    ]
    assert params["seed"]["differs"] is False

    different = await compare(api, [2, 3], only=True)
    assert list(nodes(different["params"])) == ["depth", "lr"]
    assert different["params"]["totalCount"] == 2


async def test_an_explicit_baseline_and_none_at_all(api: GraphQLClient) -> None:
    await fraud(api, production=False)
    found = await compare(api, [1, 2])
    assert found["baseline"] is None
    auc = nodes(found["metrics"])["auc"]
    assert auc["baselineValue"] is None
    assert {v["delta"] for v in auc["values"]} == {None}
    assert {v["differsFromBaseline"] for v in nodes(found["params"])["lr"]["values"]} == {None}

    found = await compare(api, [1, 2, 3], baseline=3)
    assert found["baseline"]["version"] == 3
    auc = nodes(found["metrics"])["auc"]
    assert [v["delta"] for v in auc["values"]] == [
        pytest.approx(-0.05),
        pytest.approx(-0.02),
        0.0,
    ]


async def test_metrics_page_by_key(api: GraphQLClient) -> None:
    await fraud(api)
    first = (await compare(api, [1, 2, 3], first=2))["metrics"]
    assert (list(nodes(first)), first["totalCount"]) == (["auc", "f1"], 4)
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    rest = (await compare(api, [1, 2, 3], first=2, after=after))["metrics"]
    assert list(nodes(rest)) == ["loss", "zero"]
    assert rest["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("variables", "code", "details"),
    [
        ({"versions": [2, 4, 9]}, "NOT_FOUND", {"versions": [4, 9]}),
        ({"versions": [2], "baseline": 9}, "NOT_FOUND", {"versions": [9]}),
        ({"versions": [2], "name": "nope"}, "NOT_FOUND", {"model": "nope"}),
        ({"versions": []}, "BAD_USER_INPUT", {"field": "versions"}),
        ({"versions": list(range(1, 12))}, "BAD_USER_INPUT", {"field": "versions", "limit": 10}),
        ({"versions": [2, 2]}, "BAD_USER_INPUT", {"field": "versions"}),
        ({"versions": [0]}, "BAD_USER_INPUT", {"field": "versions"}),
        ({"versions": [1], "baseline": -1}, "BAD_USER_INPUT", {"field": "baseline"}),
        ({"versions": [1], "first": 101}, "BAD_USER_INPUT", {"field": "first"}),
        ({"versions": [1], "after": "not-a-cursor"}, "BAD_USER_INPUT", {"field": "after"}),
    ],
)
async def test_refusals(
    api: GraphQLClient, variables: dict[str, Any], code: str, details: dict[str, Any]
) -> None:
    await fraud(api)
    error = await api.error(COMPARE, variables)
    assert error["extensions"]["code"] == code
    assert details.items() <= error["extensions"].items()


async def test_statements_do_not_grow_with_versions(db: Database) -> None:
    async with serving(db, Settings(webhook_dispatcher=False)) as api:
        await register(api, "fraud", 10, metrics=pairs({"auc": 0.5}))
        await transition(api, "fraud", 1, "PRODUCTION")
        counts = {}
        for versions in ([2, 3], list(range(1, 11))):
            with counting_statements(db) as statements:
                found = await compare(api, versions)
            assert len(found["versions"]) == len(versions)
            counts[len(versions)] = len(statements)
        assert counts[2] == counts[10], counts
        # The token, the model, the versions, the PRODUCTION version.
        assert counts[10] <= 4, counts
