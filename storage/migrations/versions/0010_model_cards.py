"""model cards: each version's card, its revisions, and stage policies that require one

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 14:00:00.000000

New tables only, and a column with a default on stage_policies (a handful of
rows): nothing existing is rewritten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.column_types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = storage.column_types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_cards",
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("model_card", sa.Text(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_cards_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_model_cards")),
    )
    op.create_table(
        "model_card_revisions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("model_card", sa.Text(), nullable=True),
        sa.Column("previous_model_card", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_card_revisions_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_card_revisions")),
    )
    op.create_index(
        "ix_model_card_revisions_version_id_id", "model_card_revisions", ["version_id", "id"]
    )
    op.add_column(
        "stage_policies",
        sa.Column("require_model_card", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("stage_policies") as batch:
        batch.drop_column("require_model_card")
    op.drop_index("ix_model_card_revisions_version_id_id", "model_card_revisions")
    op.drop_table("model_card_revisions")
    op.drop_table("model_cards")
