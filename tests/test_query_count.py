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
