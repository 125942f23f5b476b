"""No N+1: nested fields load through DataLoaders, so statements do not grow with items."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from server.settings import Settings
from storage.database import Database
from tests.conftest import serving
from tests.graphql import GraphQLClient, register, transition

NESTED = """query($first: Int!) { models(first: $first) { edges { node {
  tags { key }
  productionVersion { version }
  versions(first: 10) { edges { node { tags { key } } } }
} } } }"""
SET_TAG = "mutation($input: SetTagInput!) { setTag(input: $input) { tag { key } } }"


@contextmanager
def counting_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Not the token's lookup (cached for a few seconds) nor its lastUsedAt (once a
        # minute): whether they run depends on the clock, not on the query counted.
        if "api_tokens" not in statement:
            statements.append(statement)

    engines = {id(db.reader): db.reader, id(db.writer): db.writer}.values()
    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_statement_count_does_not_grow_with_items(db: Database) -> None:
    # No dispatcher in this app: its claims would be counted with the query's statements.
    async with serving(db, Settings(webhook_dispatcher=False)) as api:
        await _count_nested_query_statements(api, db)


async def _count_nested_query_statements(api: GraphQLClient, db: Database) -> None:
    for i in range(50):
        name = f"model-{i:02d}"
        await register(api, name, 3)
        await api.data(SET_TAG, {"input": {"modelName": name, "key": "team", "value": "a"}})
        tag = {"modelName": name, "version": 2, "key": "ok", "value": "1"}
        await api.data(SET_TAG, {"input": tag})
        if i % 2:
            await transition(api, name, 1, "PRODUCTION")

    counts = {}
    for first in (5, 50):
        with counting_statements(db) as statements:
            data = await api.data(NESTED, {"first": first})
        assert len(data["models"]["edges"]) == first
        counts[first] = len(statements)
    assert counts[5] == counts[50], counts
    # The token lookup, then one statement per field kind: models, tags,
    # production, versions, version tags.
    assert counts[50] <= 6, counts


MODEL_WITH_PRODUCTION = """query($name: String!) {
  model(name: $name) { name productionVersion { version stage } }
}"""
PRODUCTION_THROUGH_FRAGMENT = """query($name: String!) {
  model(name: $name) { name ...P }
}
fragment P on RegisteredModel { productionVersion { version } }"""


async def test_a_model_and_its_production_version_are_one_statement(db: Database) -> None:
    async with serving(db, Settings(webhook_dispatcher=False)) as api:
        await register(api, "served", 2)
        await register(api, "unserved", 1)
        await transition(api, "served", 2, "PRODUCTION")

        with counting_statements(db) as statements:
            served = await api.data(MODEL_WITH_PRODUCTION, {"name": "served"})
        registry_reads = [s for s in statements if "api_tokens" not in s]
        assert len(registry_reads) == 1, registry_reads
        assert served["model"]["productionVersion"] == {"version": 2, "stage": "PRODUCTION"}

        unserved = await api.data(MODEL_WITH_PRODUCTION, {"name": "unserved"})
        assert unserved["model"] == {"name": "unserved", "productionVersion": None}
        # Through a fragment the read-ahead does not apply; the answer is the same.
        fragment = await api.data(PRODUCTION_THROUGH_FRAGMENT, {"name": "served"})
        assert fragment["model"]["productionVersion"] == {"version": 2}
        assert await api.code(MODEL_WITH_PRODUCTION, {"name": "absent"}) == "NOT_FOUND"


async def test_a_version_of_a_known_model_is_four_statements_while_nothing_subscribes(
    db: Database,
) -> None:
    """The event log costs a write one statement: the events' INSERT.

    It numbers the events itself (a trigger on the model's counter row), wakes
    PostgreSQL's live readers (a trigger's NOTIFY) and says whether any webhook
    is active, so none of them is a statement of its own
    (they were: 6 statements since the log was always written, 4 before it).
    """
    async with serving(db, Settings(webhook_dispatcher=False)) as api:
        await register(api, "known")
        with counting_statements(db) as statements:
            await register(api, "known")
    kinds = [" ".join(s.split()[:3]) for s in statements]
    # No NOTIFY statement on PostgreSQL either: the INSERT's trigger sends it.
    assert kinds == [
        "UPDATE models SET",
        "INSERT INTO model_versions",
        "INSERT INTO webhook_events",
        "INSERT INTO audit_log",
    ], statements


async def test_a_promotion_writes_its_events_in_one_statement_and_reads_no_card(
    db: Database,
) -> None:
    """Promoting archives the version in PRODUCTION: two events, one INSERT (SQLite sent
    one per event). The version's card is read only when the stage's policy wants one."""
    async with serving(db, Settings(webhook_dispatcher=False)) as api:
        await register(api, "promoted", 2)
        await transition(api, "promoted", 1, "PRODUCTION")
        with counting_statements(db) as statements:
            await transition(api, "promoted", 2, "PRODUCTION")
    kinds = [" ".join(s.split()[:3]) for s in statements]
    assert kinds.count("INSERT INTO webhook_events") == 1, statements
    assert not [s for s in statements if "model_cards" in s], statements
    assert len(statements) == 10, statements
