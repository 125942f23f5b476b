"""Model cards: set, changed, removed, recorded, announced, capped, and required by a policy."""

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from resolvers.limits import MODEL_CARD_MAX_BYTES
from server.settings import Settings
from storage.database import Database
from storage.tables import model_card_revisions, model_cards, webhook_events
from tests.conftest import serving
from tests.graphql import TRANSITION, GraphQLClient, register, transition
from tests.request_client import (
    APPROVE,
    REQUEST,
    Team,
    approve,
    gated_team,
    read,
    set_policy,
)
from tests.snapshot import snapshot
from tests.test_query_count import counting_statements

CARD = "# fraud v1\n\n| data | rows |\n|---|---|\n| 2025 | 1e6 |\n\n\tKnown limits: none."
CREATE = """mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version modelCard } } }"""
UPDATE = """mutation($input: UpdateModelVersionInput!) { updateModelVersion(input: $input) {
  modelVersion { version description modelCard updatedBy } } }"""
READ = """query($version: Int!, $first: Int, $after: String) {
  modelVersion(name: "fraud", version: $version) {
    modelCard
    modelCardHistory(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { modelCard previousModelCard actor createdAt } }
    } } }"""
DELETE_VERSION = """mutation {
  deleteModelVersion(input: {modelName: "fraud", version: 1}) { version } }"""
POLICIES = "{ stagePolicies { stage requireModelCard gated } }"


async def create(api: GraphQLClient, card: str | None, **fields: Any) -> dict[str, Any]:
    payload = {"modelName": "fraud", "source": "s3://m/fraud", "modelCard": card, **fields}
    data = await api.data(CREATE, {"input": payload})
    found: dict[str, Any] = data["createModelVersion"]["modelVersion"]
    return found


async def update(api: GraphQLClient, version: int = 1, **fields: Any) -> dict[str, Any]:
    payload = {"modelName": "fraud", "version": version, **fields}
    data = await api.data(UPDATE, {"input": payload})
    found: dict[str, Any] = data["updateModelVersion"]["modelVersion"]
    return found


async def refused(api: GraphQLClient, db: Database, query: str, payload: Any) -> dict[str, Any]:
    """The single error of a call that must change nothing."""
    before = await snapshot(db)
    error = await api.error(query, {"input": payload})
    assert await snapshot(db) == before
    return error


async def card_history(api: GraphQLClient, version: int = 1) -> list[dict[str, Any]]:
    data = await api.data(READ, {"version": version, "first": 100})
    return [e["node"] for e in data["modelVersion"]["modelCardHistory"]["edges"]]


async def events(db: Database, kind: str) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(webhook_events.c.data)
            .where(webhook_events.c.type == kind)
            .order_by(webhook_events.c.id)
        )
        return [data for (data,) in rows]


def card_data(text: str) -> dict[str, Any]:
    encoded = text.encode()
    return {
        "text": text,
        "length": len(text),
        "bytes": len(encoded),
        "sha256": "sha256:" + hashlib.sha256(encoded).hexdigest(),
        "query": None,
    }


async def test_a_card_is_set_changed_and_removed_with_every_change_recorded(
    api: GraphQLClient, db: Database
) -> None:
    assert (await create(api, CARD))["modelCard"] == CARD
    changed = CARD.replace("none", "drifts on holidays")
    updated = await update(api, modelCard=changed)
    assert (updated["modelCard"], updated["updatedBy"]) == (changed, api.actor)
    # The description alone leaves the card as it is, and records no revision.
    assert (await update(api, description="v1"))["modelCard"] == changed
    assert (await update(api, modelCard=changed))["modelCard"] == changed
    assert (await update(api, modelCard=None))["modelCard"] is None
    assert (await update(api, modelCard=" \n\t"))["modelCard"] is None  # blank: no card

    history = await card_history(api)
    assert [(h["modelCard"], h["previousModelCard"]) for h in history] == [
        (None, changed),
        (changed, CARD),
        (CARD, None),
    ]
    assert {h["actor"] for h in history} == {api.actor}

    created = (await events(db, "model_version.created"))[0]
    assert created["modelCard"] == card_data(CARD)
    changes = [e["changes"] for e in await events(db, "model_version.updated")]
    assert changes[0] == {"modelCard": {"previous": card_data(CARD), "current": card_data(changed)}}
    assert changes[1] == {"description": {"previous": "", "current": "v1"}}
    assert changes[2] == {}  # the same card again: nothing changed
    assert changes[3] == {"modelCard": {"previous": card_data(changed), "current": None}}
    assert changes[4] == {}


async def test_card_history_pages_newest_first(api: GraphQLClient) -> None:
    await create(api, "v0")
    for i in range(1, 5):
        await update(api, modelCard=f"v{i}")
    page = (await api.data(READ, {"version": 1, "first": 3}))["modelVersion"]["modelCardHistory"]
    assert page["totalCount"] == 5
    assert [e["node"]["modelCard"] for e in page["edges"]] == ["v4", "v3", "v2"]
    after = page["pageInfo"]["endCursor"]
    rest = await api.data(READ, {"version": 1, "first": 3, "after": after})
    history = rest["modelVersion"]["modelCardHistory"]
    assert [e["node"]["modelCard"] for e in history["edges"]] == ["v1", "v0"]
    assert history["pageInfo"]["hasNextPage"] is False


def _text_of(size: int) -> str:
    """Markdown of exactly `size` bytes of UTF-8, mostly two-byte characters."""
    return "é" * (size // 2) + "x" * (size % 2)


@pytest.mark.parametrize(
    ("card", "why"),
    [
        (_text_of(MODEL_CARD_MAX_BYTES + 1), "bytes"),  # fewer characters than the cap
        ("x" * (MODEL_CARD_MAX_BYTES + 1), "characters"),
        ("# card\x00", "control character"),
        ("# card\x1b[31m", "control character"),
    ],
    ids=["bytes", "characters", "nul", "escape"],
)
async def test_refused_cards_change_nothing(
    api: GraphQLClient, db: Database, card: str, why: str
) -> None:
    await create(api, "kept")
    for query, payload in (
        (CREATE, {"modelName": "fraud", "source": "s3://m", "modelCard": card}),
        (UPDATE, {"modelName": "fraud", "version": 1, "modelCard": card}),
    ):
        error = await refused(api, db, query, payload)
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "BAD_USER_INPUT",
            "modelCard",
        )
        assert why in error["message"]


async def test_the_cap_is_64_kib_of_utf8(api: GraphQLClient) -> None:
    largest = _text_of(MODEL_CARD_MAX_BYTES)
    assert (await create(api, largest))["modelCard"] == largest


async def test_an_update_needs_something_to_change(api: GraphQLClient, db: Database) -> None:
    await create(api, CARD)
    error = await refused(api, db, UPDATE, {"modelName": "fraud", "version": 1})
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "description",
    )
    missing = {"modelName": "fraud", "version": 9, "modelCard": "x"}
    assert (await refused(api, db, UPDATE, missing))["extensions"]["code"] == "NOT_FOUND"


async def test_readers_cannot_change_a_card(team: Team, db: Database) -> None:
    await create(team.admin, CARD)
    payload = {"modelName": "fraud", "version": 1, "modelCard": "mine"}
    assert (await refused(team.reader, db, UPDATE, payload))["extensions"]["code"] == "FORBIDDEN"


async def test_a_deleted_version_takes_its_card_and_revisions(
    api: GraphQLClient, db: Database
) -> None:
    await create(api, CARD)
    await update(api, modelCard="second")
    await api.data(DELETE_VERSION)
    async with db.read() as conn:
        for table in (model_cards, model_card_revisions):
            assert (await conn.execute(select(func.count()).select_from(table))).scalar() == 0


# --- A stage policy that requires a card -------------------------------------


@pytest.fixture
async def team(db: Database) -> AsyncIterator[Team]:
    async with gated_team(db, Settings(webhook_dispatcher=False)) as members:
        yield members


async def test_a_policy_requires_a_card_for_transitions_and_requests(
    team: Team, db: Database
) -> None:
    await set_policy(team.admin, "STAGING", 0, requireModelCard=True)
    await set_policy(team.admin, "PRODUCTION", 1, requireModelCard=True)
    policies = {p["stage"]: p for p in (await team.admin.data(POLICIES))["stagePolicies"]}
    assert policies["STAGING"] == {"stage": "STAGING", "requireModelCard": True, "gated": False}
    assert policies["PRODUCTION"]["requireModelCard"] is True
    assert policies["NONE"]["requireModelCard"] is False
    await register(team.writer, "fraud", 2)

    staging = {"modelName": "fraud", "version": 1, "stage": "STAGING"}
    asking = {"modelName": "fraud", "version": 1, "stage": "PRODUCTION"}
    forcing = {**asking, "force": True, "reason": "incident"}
    for client, query, payload in (
        (team.writer, TRANSITION, staging),
        (team.writer, REQUEST, asking),
        (team.admin, TRANSITION, forcing),  # a card is one call away: force does not waive it
    ):
        error = await refused(client, db, query, payload)
        assert error["extensions"]["code"] == "MODEL_CARD_REQUIRED", error
        assert error["extensions"]["missing"] == "modelCard"
        assert error["extensions"]["version"] == 1
        assert "no model card" in error["message"]

    # Version 2 has a card: it goes through; a stage without the rule is not affected.
    await update(team.writer, 2, modelCard=CARD)
    assert (await transition(team.writer, "fraud", 2, "STAGING"))["modelVersion"]["stage"] == (
        "STAGING"
    )
    assert (await transition(team.writer, "fraud", 1, "ARCHIVED"))["modelVersion"]["stage"] == (
        "ARCHIVED"
    )
    asked = await team.writer.data(REQUEST, {"input": {**asking, "version": 2}})
    request_id = asked["requestTransition"]["transitionRequest"]["id"]

    # The card removed before the decision: approving is refused, the request stays PENDING.
    await update(team.writer, 2, modelCard=None)
    before = await snapshot(db)
    error = await team.maya.error(APPROVE, {"id": request_id, "comment": "lgtm"})
    assert error["extensions"]["code"] == "MODEL_CARD_REQUIRED"
    assert await snapshot(db) == before
    assert (await read(team.admin, request_id))["status"] == "PENDING"

    await update(team.writer, 2, modelCard=CARD)
    completed = await approve(team.maya, request_id)
    assert (completed["status"], completed["modelVersion"]["stage"]) == ("COMPLETED", "PRODUCTION")


async def test_the_request_event_carries_the_card_or_its_digest(team: Team, db: Database) -> None:
    small = CARD
    large = "# big card\n" + "a line of evaluation results\n" * 1000  # ~28 KB
    await register(team.writer, "fraud", 2)
    await update(team.writer, 1, modelCard=small)
    await update(team.writer, 2, modelCard=large)
    for version in (1, 2):
        payload = {"modelName": "fraud", "version": version, "stage": "PRODUCTION"}
        await team.writer.data(REQUEST, {"input": payload})
    alias = {"modelName": "fraud", "version": 1, "alias": "champion"}
    await team.writer.data(REQUEST, {"input": alias})

    found = await events(db, "transition_request.created")
    assert found[0]["modelCard"] == card_data(small)
    big = found[1]["modelCard"]
    assert big["text"] is None
    assert big["bytes"] == len(large.encode())
    assert big["sha256"] == "sha256:" + hashlib.sha256(large.encode()).hexdigest()
    # The hint is a query that reads the card.
    read_back = await team.reader.data(big["query"])
    assert read_back["modelVersion"]["modelCard"] == large
    assert found[2]["alias"] == "champion"
    assert found[2]["modelCard"] == card_data(small)


# --- Reads stay batched and bounded ------------------------------------------

LISTED = """query($first: Int!) { model(name: "fraud") { versions(first: $first) { edges { node {
  modelCard modelCardHistory(first: 2) { edges { node { actor } } }
} } } } }"""


async def test_statements_do_not_grow_with_versions(db: Database) -> None:
    async with serving(db, Settings(webhook_dispatcher=False)) as api:
        for i in range(12):
            await create(api, f"card {i}")
        counts = {}
        for first in (2, 12):
            with counting_statements(db) as statements:
                data = await api.data(LISTED, {"first": first})
            nodes = [e["node"] for e in data["model"]["versions"]["edges"]]
            assert [n["modelCard"] for n in nodes] == [
                f"card {i}" for i in range(11, 11 - first, -1)
            ]
            counts[first] = len(statements)
        assert counts[2] == counts[12], counts
