"""read indexes: filters and pages that an index answers at any size

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00.000000

Both backends: (stage, model_id) on model_versions for hasVersionInStage,
(key, value, model_id) on model_tags for tag filters, (model_id, id) and
(model_id, version, id) on transition_requests for a model's and a version's
requests newest first.

PostgreSQL, built CONCURRENTLY outside the migration's transaction so that
writes go on meanwhile: models (name COLLATE "C") for nameStartsWith as a
byte-order range, and a pg_trgm GIN index on lower(name) for nameContains
(when the extension cannot be created, the index is left out with a warning
and nameContains scans the names as before).

SQLite: an FTS5 trigram table over models.name, kept in step by triggers, for
nameContains. A later batch-mode migration that rebuilds `models` must create
these triggers again.
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("modelreg.migrations")

# (name, table, columns) on both backends; tables.py declares the same.
_INDEXES = (
    ("ix_model_versions_stage_model_id", "model_versions", ["stage", "model_id"]),
    ("ix_model_tags_key_value_model_id", "model_tags", ["key", "value", "model_id"]),
    ("ix_transition_requests_model_id_id", "transition_requests", ["model_id", "id"]),
    (
        "ix_transition_requests_model_id_version_id",
        "transition_requests",
        ["model_id", "version", "id"],
    ),
)

_SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE models_name_search USING fts5("
    "name, content='models', content_rowid='id', tokenize='trigram')",
    "INSERT INTO models_name_search(models_name_search) VALUES ('rebuild')",
    """CREATE TRIGGER models_name_search_insert AFTER INSERT ON models BEGIN
        INSERT INTO models_name_search(rowid, name) VALUES (new.id, new.name);
    END""",
    """CREATE TRIGGER models_name_search_delete AFTER DELETE ON models BEGIN
        INSERT INTO models_name_search(models_name_search, rowid, name)
        VALUES ('delete', old.id, old.name);
    END""",
    """CREATE TRIGGER models_name_search_rename AFTER UPDATE OF name ON models BEGIN
        INSERT INTO models_name_search(models_name_search, rowid, name)
        VALUES ('delete', old.id, old.name);
        INSERT INTO models_name_search(rowid, name) VALUES (new.id, new.name);
    END""",
)


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _is_postgresql():
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_postgresql() -> None:
    # CONCURRENTLY cannot run in a transaction; each statement commits on its own.
    # IF NOT EXISTS: a rerun after an interruption goes on where it stopped.
    with op.get_context().autocommit_block():
        for name, table, columns in _INDEXES:
            op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)
        op.execute(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_models_name_c ON models (name COLLATE "C")'
        )
        try:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DBAPIError as error:
            logger.warning(
                "pg_trgm could not be created (%s), so nameContains scans model names. "
                "A superuser can add the index later: CREATE EXTENSION pg_trgm; "
                "CREATE INDEX CONCURRENTLY ix_models_name_trgm "
                "ON models USING gin (lower(name) gin_trgm_ops) WITH (fastupdate = off)",
                error.orig,
            )
            return
        # fastupdate off: new names go straight into the index instead of a pending
        # list that every search reads until VACUUM (models are created rarely).
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_models_name_trgm "
            "ON models USING gin (lower(name) gin_trgm_ops) WITH (fastupdate = off)"
        )


def _upgrade_sqlite() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    try:
        op.execute(text(_SQLITE_SEARCH[0]))
    except DBAPIError as error:
        # FTS5 or its trigram tokenizer (SQLite 3.34) missing from this build.
        logger.warning(
            "SQLite has no FTS5 trigram tokenizer (%s): nameContains will scan model names.",
            error.orig,
        )
        return
    for statement in _SQLITE_SEARCH[1:]:
        op.execute(text(statement))


def downgrade() -> None:
    if _is_postgresql():
        with op.get_context().autocommit_block():
            for name in ("ix_models_name_trgm", "ix_models_name_c"):
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            for name, table, _ in reversed(_INDEXES):
                op.drop_index(name, table, postgresql_concurrently=True, if_exists=True)
        return
    for trigger in ("rename", "delete", "insert"):
        op.execute(text(f"DROP TRIGGER IF EXISTS models_name_search_{trigger}"))
    op.execute(text("DROP TABLE IF EXISTS models_name_search"))
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table)
