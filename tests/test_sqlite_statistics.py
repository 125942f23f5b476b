"""SQLite gathers planner statistics itself: PRAGMA optimize on checkin (when due) and on close.

It analyzes the tables whose queries, on the connection that runs it, would
have planned better with statistics: here the versions read by stage.
"""

import shutil
import sqlite3
from pathlib import Path

from storage.database import Database, create_database
from storage.enums import Stage
from storage.pagination import PageRequest
from storage.queries import models
from storage.queries.models import ModelFilter, ModelOrder
from tests.plans import insert_models


def _analyzed_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        found = connection.execute(
            "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).fetchall()
        if not found:
            return set()
        return {row[0] for row in connection.execute("SELECT tbl FROM sqlite_stat1")}


async def _load_and_read(db: Database) -> None:
    async with db.transaction() as conn:
        await insert_models(conn, [(i, f"model-{i:04d}", 2) for i in range(1, 500)])
    # Versions in a stage: two indexes could answer, statistics would choose.
    async with db.read() as conn:
        found = await models.list_models(
            conn,
            ModelFilter(has_version_in_stage=Stage.PRODUCTION),
            ModelOrder.NAME,
            PageRequest(5),
        )
    assert [m.name for m in found] == [f"model-{i:04d}" for i in range(1, 7)]


async def test_a_connection_back_in_the_pool_optimizes_when_due(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "modelreg.db"
    shutil.copyfile(sqlite_template, path)
    assert "model_versions" not in _analyzed_tables(path)
    # Due at every checkin: the read's connection analyzed what it read.
    db = create_database(f"sqlite+aiosqlite:///{path}", optimize_interval_s=0.0)
    try:
        await _load_and_read(db)
        assert "model_versions" in _analyzed_tables(path)
    finally:
        await db.dispose()


async def test_closing_a_connection_optimizes(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "modelreg.db"
    shutil.copyfile(sqlite_template, path)
    # Not due for an hour: nothing until the pool closes its connections.
    db = create_database(f"sqlite+aiosqlite:///{path}", optimize_interval_s=3600.0)
    try:
        await _load_and_read(db)
        assert "model_versions" not in _analyzed_tables(path)
    finally:
        await db.dispose()
    assert "model_versions" in _analyzed_tables(path)


def _name_search_segments(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        found = connection.execute("SELECT count(DISTINCT segid) FROM models_name_search_idx")
        return int(found.fetchone()[0])


async def test_the_name_index_is_merged_into_one_segment_as_statistics_are_gathered(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "modelreg.db"
    shutil.copyfile(sqlite_template, path)
    db = create_database(f"sqlite+aiosqlite:///{path}", optimize_interval_s=3600.0)
    try:
        for i in range(1, 40):  # a model at a time: each adds a segment until automerge
            async with db.transaction() as conn:
                await insert_models(conn, [(i, f"model-{i:04d}", 1)])
        assert _name_search_segments(path) > 1
    finally:
        await db.dispose()  # the connections close: each optimizes, and merges
    assert _name_search_segments(path) == 1
    with sqlite3.connect(path) as connection:  # and the index still answers
        found = connection.execute(
            "SELECT count(*) FROM models_name_search WHERE models_name_search MATCH '\"el-00\"'"
        )
        assert found.fetchone()[0] == 39
