"""History at a point in time: `versionAt` and `resolveModelUri(at:)` across a model's life."""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from server.settings import Settings
from storage.database import Database
from tests.conftest import serving
from tests.graphql import GraphQLClient, register, transition
from tests.request_client import Team, approve, gated_team
from tests.snapshot import snapshot
from tests.test_query_count import counting_statements

VERSION_AT = """query($name: String!, $at: DateTime!, $stage: Stage, $alias: String) {
  model(name: $name) { versionAt(at: $at, stage: $stage, alias: $alias) { version stage } } }"""
RESOLVE_AT = """query($uri: String!, $at: DateTime) {
  resolveModelUri(uri: $uri, at: $at) { version } }"""
ROLLBACK = 'mutation { rollback(input: {modelName: "fraud"}) { restored { version } } }'
DELETE_VERSION = """mutation($name: String!, $version: Int!) {
  deleteModelVersion(input: {modelName: $name, version: $version}) { version } }"""
SET_ALIAS = """mutation($version: Int!) {
  setAlias(input: {modelName: "fraud", alias: "champion", version: $version}) {
    previousVersion } }"""
DELETE_ALIAS = """mutation {
  deleteAlias(input: {modelName: "fraud", alias: "champion"}) { version } }"""
ALIAS_POLICY = """mutation { setAliasPolicy(input: {alias: "champion", modelName: "fraud"}) {
  policy { gated } } }"""
CLEAR_ALIAS_POLICY = """mutation {
  clearAliasPolicy(input: {alias: "champion", modelName: "fraud"}) { policy { gated } } }"""
REQUEST_ALIAS = """mutation { requestTransition(input: {modelName: "fraud", version: 3,
  alias: "champion"}) { transitionRequest { id } } }"""


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


Steps = list[tuple[str, Callable[[], Awaitable[object]]]]


class Clock:
    """The frozen registry clock, moved a minute forward at each step."""

    def __init__(self, times: list[datetime]) -> None:
        self.times = times

    def step(self) -> datetime:
        self.times.append(self.times[-1] + timedelta(minutes=1))
        return self.times[-1]

    async def play(self, steps: Steps) -> dict[str, datetime]:
        """Run each change at a minute of its own; return when each one happened."""
        moments = {}
        for name, change in steps:
            moments[name] = self.step()
            await change()
        return moments


async def held(
    api: GraphQLClient, at: datetime, *, stage: str | None = None, alias: str | None = None
) -> int | None:
    variables = {"name": "fraud", "at": iso(at), "stage": stage, "alias": alias}
    found = (await api.data(VERSION_AT, variables))["model"]["versionAt"]
    return None if found is None else int(found["version"])


async def version_at_error(api: GraphQLClient, at: str, **target: Any) -> dict[str, Any]:
    return await api.error(VERSION_AT, {"name": "fraud", "at": at, **target})


async def test_production_across_promotions_rollback_archive_and_deletes(
    api: GraphQLClient, frozen_clock: list[datetime]
) -> None:
    clock = Clock(frozen_clock)
    before = clock.step()
    created = clock.step()
    await register(api, "fraud", 3)
    steps: Steps = [
        ("v1", lambda: transition(api, "fraud", 1, "PRODUCTION")),
        ("v2", lambda: transition(api, "fraud", 2, "PRODUCTION")),  # archives 1
        ("rollback", lambda: api.data(ROLLBACK)),  # 1 back, 2 archived
        ("archived", lambda: transition(api, "fraud", 1, "ARCHIVED")),  # none in Production
        ("v3", lambda: transition(api, "fraud", 3, "PRODUCTION")),
        ("v3 deleted", lambda: api.data(DELETE_VERSION, {"name": "fraud", "version": 3})),
        ("v2 again", lambda: transition(api, "fraud", 2, "PRODUCTION")),
    ]
    moments = {"before": before, "created": created, **await clock.play(steps)}
    clock.step()

    expected = {
        "before": None,
        "created": None,
        "v1": 1,
        "v2": 2,
        "rollback": 1,
        "archived": None,
        "v3 deleted": None,  # deleted at that instant: the deletion counts
        "v2 again": 2,
    }
    for name, version in expected.items():
        assert await held(api, moments[name], stage="PRODUCTION") == version, name
        # Between two changes, the earlier one holds.
        later = moments[name] + timedelta(seconds=30)
        assert await held(api, later, stage="PRODUCTION") == version, name
    assert await held(api, frozen_clock[-1], stage="PRODUCTION") == 2

    # Version 3 was in Production then, but cannot be shown: NOT_FOUND naming it.
    error = await version_at_error(api, iso(moments["v3"]), stage="PRODUCTION")
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["version"] == 3
    assert error["extensions"]["deletedAt"] == iso(moments["v3 deleted"])
    assert "deleted" in error["message"]

    uri = "models:/fraud/production"
    resolved = await api.data(RESOLVE_AT, {"uri": uri, "at": iso(moments["rollback"])})
    assert resolved["resolveModelUri"]["version"] == 1
    error = await api.error(RESOLVE_AT, {"uri": uri, "at": iso(moments["archived"])})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["at"] == iso(moments["archived"])
    # A version number resolves at a time when it existed.
    found = await api.data(RESOLVE_AT, {"uri": "models:/fraud/2", "at": iso(created)})
    assert found["resolveModelUri"]["version"] == 2
    assert await api.code(RESOLVE_AT, {"uri": "models:/fraud/2", "at": iso(before)}) == "NOT_FOUND"
    # Without `at`, the URI resolves now, as before.
    assert (await api.data(RESOLVE_AT, {"uri": uri}))["resolveModelUri"]["version"] == 2


async def test_aliases_across_moves_requests_and_deleted_versions(
    db: Database, frozen_clock: list[datetime]
) -> None:
    clock = Clock(frozen_clock)
    async with gated_team(db, Settings(webhook_dispatcher=False)) as team:
        await _play_alias_story(team, clock)


async def _play_alias_story(team: Team, clock: Clock) -> None:
    api = team.admin
    before = clock.step()
    await register(api, "fraud", 3)

    async def through_a_request() -> None:
        await api.data(ALIAS_POLICY)
        asked = (await team.writer.data(REQUEST_ALIAS))["requestTransition"]
        await approve(team.maya, asked["transitionRequest"]["id"])
        await api.data(CLEAR_ALIAS_POLICY)

    steps: Steps = [
        ("set 1", lambda: api.data(SET_ALIAS, {"version": 1})),
        ("moved to 2", lambda: api.data(SET_ALIAS, {"version": 2})),
        ("deleted", lambda: api.data(DELETE_ALIAS)),
        ("approved 3", through_a_request),
        ("3 deleted", lambda: api.data(DELETE_VERSION, {"name": "fraud", "version": 3})),
    ]
    moments = {"before": before, **await clock.play(steps)}

    expected = {"before": None, "set 1": 1, "moved to 2": 2, "deleted": None, "3 deleted": None}
    for name, version in expected.items():
        assert await held(api, moments[name], alias="champion") == version, name
    assert await held(api, moments["moved to 2"], alias="challenger") is None
    error = await version_at_error(api, iso(moments["approved 3"]), alias="champion")
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert (error["extensions"]["version"], error["extensions"]["deletedAt"]) == (
        3,
        iso(moments["3 deleted"]),
    )
    uri = {"uri": "models:/fraud@champion", "at": iso(moments["moved to 2"])}
    assert (await team.reader.data(RESOLVE_AT, uri))["resolveModelUri"]["version"] == 2
    uri["at"] = iso(moments["deleted"])
    assert await team.reader.code(RESOLVE_AT, uri) == "NOT_FOUND"


@pytest.mark.parametrize(
    ("at", "target", "field"),
    [
        ("2026-01-01T00:00:00Z", {"stage": "PRODUCTION", "alias": "champion"}, "stage"),
        ("2026-01-01T00:00:00Z", {}, "stage"),
        ("2026-01-01T00:00:00Z", {"stage": "STAGING"}, "stage"),
        ("2026-01-01T00:00:00Z", {"alias": "not an alias"}, "alias"),
        ("2026-01-01T00:00:00Z", {"alias": "latest"}, "alias"),
        ("2026-01-01T00:00:00", {"stage": "PRODUCTION"}, "at"),  # no time zone
    ],
)
async def test_refused_questions(
    api: GraphQLClient, db: Database, at: str, target: dict[str, str], field: str
) -> None:
    await register(api, "fraud")
    before = await snapshot(db)
    error = await version_at_error(api, at, **target)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("uri", "field"),
    [
        ("models:/fraud/latest", "at"),
        ("models:/fraud/Staging", "uri"),
        ("models:/fraud/archived", "uri"),
        ("models:/fraud", "uri"),
    ],
)
async def test_uris_that_cannot_be_resolved_at_a_time(
    api: GraphQLClient, uri: str, field: str
) -> None:
    await register(api, "fraud")
    error = await api.error(RESOLVE_AT, {"uri": uri, "at": "2030-01-01T00:00:00Z"})
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)


async def test_unknown_models_are_not_found(api: GraphQLClient) -> None:
    error = await api.error(RESOLVE_AT, {"uri": "models:/nope@champion", "at": "2030-01-01T00:00Z"})
    assert error["extensions"]["code"] == "NOT_FOUND"


SET_CHAMPION = """mutation($name: String!) {
  setAlias(input: {modelName: $name, alias: "champion", version: 2}) { previousVersion } }"""
MANY = """query($at: DateTime!) { models(first: 50) { edges { node {
  production: versionAt(at: $at, stage: PRODUCTION) { version }
  champion: versionAt(at: $at, alias: "champion") { version }
} } } }"""


async def test_statements_do_not_grow_with_models(db: Database) -> None:
    async with serving(db, Settings(webhook_dispatcher=False)) as api:
        for i in range(12):
            name = f"m{i:02d}"
            await register(api, name, 2)
            await transition(api, name, 1 + i % 2, "PRODUCTION")
            await api.data(SET_CHAMPION, {"name": name})
        at = iso(datetime.now().astimezone() + timedelta(days=1))
        with counting_statements(db) as statements:
            data = await api.data(MANY, {"at": at})
        nodes = [e["node"] for e in data["models"]["edges"]]
        assert [n["production"]["version"] for n in nodes] == [1 + i % 2 for i in range(12)]
        assert {n["champion"]["version"] for n in nodes} == {2}
        # The token, the models, PRODUCTION at, the alias at, the versions.
        assert len(statements) <= 6, statements
