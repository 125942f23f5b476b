"""history at a point in time: deleted versions, and promotions by time

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00.000000

`deleted_versions` records when each version is deleted from now on (versions
deleted before this migration have no row: the registry cannot tell when they
went). The index (model_id, to_stage, created_at, id) on stage_history finds
a model's last promotion at or before a time without reading its history;
on PostgreSQL it is built CONCURRENTLY, so writes go on meanwhile.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.column_types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = storage.column_types.UTCDateTime(timezone=True)
_INDEX = "ix_stage_history_model_id_to_stage_created_at_id"
_COLUMNS = ["model_id", "to_stage", "created_at", "id"]


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "deleted_versions",
        sa.Column("model_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("deleted_at", _TIME, nullable=False),
        sa.Column("deleted_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_deleted_versions_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_id", "version", name=op.f("pk_deleted_versions")),
    )
    if _is_postgresql():
        # CONCURRENTLY cannot run in a transaction; IF NOT EXISTS makes a rerun safe.
        with op.get_context().autocommit_block():
            op.create_index(
                _INDEX, "stage_history", _COLUMNS, postgresql_concurrently=True, if_not_exists=True
            )
    else:
        op.create_index(_INDEX, "stage_history", _COLUMNS)


def downgrade() -> None:
    if _is_postgresql():
        with op.get_context().autocommit_block():
            op.drop_index(_INDEX, "stage_history", postgresql_concurrently=True, if_exists=True)
    else:
        op.drop_index(_INDEX, "stage_history")
    op.drop_table("deleted_versions")
