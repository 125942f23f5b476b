"""Quick reads on SQLite answer exactly what the pooled path answers, or step aside."""

from pathlib import Path
from typing import Any

from sqlalchemy import event

from storage.database import Database, create_database
from storage.queries import model_reads, version_labels
from tests.graphql import GraphQLClient, register, transition

SET_TAG = "mutation($input: SetTagInput!) { setTag(input: $input) { tag { key } } }"
SET_ALIAS = "mutation($input: SetAliasInput!) { setAlias(input: $input) { alias { alias } } }"


async def _seed(api: GraphQLClient) -> None:
    await register(api, "served", 2)
    await transition(api, "served", 2, "PRODUCTION")
    await register(api, "unserved", 1)
    tag = {"modelName": "served", "version": 2, "key": "team", "value": "a"}
    await api.data(SET_TAG, {"input": tag})
    await api.data(SET_ALIAS, {"input": {"modelName": "served", "version": 2, "alias": "champ"}})


async def test_quick_reads_answer_as_the_pool_does(api: GraphQLClient, db: Database) -> None:
    if db.quick is None:  # PostgreSQL: every read goes through the pool
        assert db.reader.dialect.name == "postgresql"
        return
    await _seed(api)
    async with db.read() as conn:
        for name in ("served", "unserved", "missing"):
            pooled = await model_reads.models_with_production(conn, [name])
            assert model_reads.model_with_production_quickly(db.quick, name) == pooled
        _, production = (await model_reads.models_with_production(conn, ["served"]))["served"]
        assert production is not None
        assert production.created_at.tzinfo is not None  # processed as the pool processes it
        for version_id in (production.id, production.id - 1, 10_000):
            pooled_labels = await version_labels.labels_of_versions(conn, [version_id])
            quick = version_labels.labels_of_version_quickly(db.quick, version_id)
            assert quick == pooled_labels
    labels = version_labels.labels_of_version_quickly(db.quick, production.id)
    assert labels is not None
    assert labels[production.id].tags == [("team", "a")]
    assert labels[production.id].aliases == ["champ"]


async def test_quick_reads_step_aside_while_statements_are_listened_to(
    api: GraphQLClient, db: Database
) -> None:
    if db.quick is None:
        return
    await _seed(api)
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.reader.sync_engine, "before_cursor_execute", listen)
    try:
        assert model_reads.model_with_production_quickly(db.quick, "served") is None
        data = await api.data('{ model(name: "served") { productionVersion { version } } }')
    finally:
        event.remove(db.reader.sync_engine, "before_cursor_execute", listen)
    assert data == {"model": {"productionVersion": {"version": 2}}}
    assert len(seen) == 1  # the read went through the engine, where listeners see it
    assert model_reads.model_with_production_quickly(db.quick, "served") is not None


async def test_quick_reads_step_aside_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not a SQLite file" * 100)
    db = create_database(f"sqlite+aiosqlite:///{path}")
    try:
        assert db.quick is not None
        assert model_reads.model_with_production_quickly(db.quick, "served") is None
    finally:
        await db.dispose()
