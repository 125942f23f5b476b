"""protected aliases: alias policies, alias history, requests for aliases

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:12:40.118230
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.column_types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = storage.column_types.UTCDateTime(timezone=True)
_REQUEST_TARGET = (
    "(alias IS NULL AND from_stage IS NOT NULL AND to_stage IS NOT NULL) OR "
    "(alias IS NOT NULL AND from_stage IS NULL AND to_stage IS NULL)"
)


def upgrade() -> None:
    # Reviewed autogenerate output, plus the request-target check constraint.
    op.create_table(
        "alias_policies",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("model_id", _ID, nullable=True),
        sa.Column("alias", sa.String(length=256), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("required_checks", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
        sa.CheckConstraint(
            "role IN ('reader', 'writer', 'maintainer', 'admin')",
            name=op.f("ck_alias_policies_role"),
        ),
        sa.CheckConstraint(
            "required_approvals >= 0", name=op.f("ck_alias_policies_required_approvals")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_alias_policies_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias_policies")),
    )
    with op.batch_alter_table("alias_policies", schema=None) as batch_op:
        batch_op.create_index(
            "uq_alias_policies_global_alias",
            ["alias"],
            unique=True,
            sqlite_where=sa.text("model_id IS NULL"),
            postgresql_where=sa.text("model_id IS NULL"),
        )
        batch_op.create_index(
            "uq_alias_policies_model_alias",
            ["model_id", "alias"],
            unique=True,
            sqlite_where=sa.text("model_id IS NOT NULL"),
            postgresql_where=sa.text("model_id IS NOT NULL"),
        )

    op.create_table(
        "alias_history",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("model_id", _ID, nullable=False),
        sa.Column("alias", sa.String(length=256), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("transition_request_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "cause IN ('set', 'delete', 'approval', 'force', 'version_deleted')",
            name=op.f("ck_alias_history_cause"),
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_alias_history_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias_history")),
    )
    with op.batch_alter_table("alias_history", schema=None) as batch_op:
        batch_op.create_index("ix_alias_history_model_id_id", ["model_id", "id"], unique=False)
        batch_op.create_index(
            "ix_alias_history_model_id_alias_id", ["model_id", "alias", "id"], unique=False
        )
        batch_op.create_index(
            "ix_alias_history_model_id_alias_created_at",
            ["model_id", "alias", "created_at"],
            unique=False,
        )

    # On SQLite this rebuilds the table (batch mode), keeping its rows.
    with op.batch_alter_table("transition_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alias", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("alias_from_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("removes_alias", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.alter_column("from_stage", existing_type=sa.String(length=16), nullable=True)
        batch_op.alter_column("to_stage", existing_type=sa.String(length=16), nullable=True)
        batch_op.create_check_constraint(op.f("ck_transition_requests_target"), _REQUEST_TARGET)


def downgrade() -> None:
    # Alias requests have no stage to fall back to: they go with the columns.
    op.execute("DELETE FROM transition_requests WHERE alias IS NOT NULL")
    with op.batch_alter_table("transition_requests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_transition_requests_target"), type_="check")
        batch_op.alter_column("to_stage", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("from_stage", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column("removes_alias")
        batch_op.drop_column("alias_from_version")
        batch_op.drop_column("alias")

    with op.batch_alter_table("alias_history", schema=None) as batch_op:
        batch_op.drop_index("ix_alias_history_model_id_alias_created_at")
        batch_op.drop_index("ix_alias_history_model_id_alias_id")
        batch_op.drop_index("ix_alias_history_model_id_id")

    op.drop_table("alias_history")
    with op.batch_alter_table("alias_policies", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alias_policies_model_alias",
            sqlite_where=sa.text("model_id IS NOT NULL"),
            postgresql_where=sa.text("model_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_alias_policies_global_alias",
            sqlite_where=sa.text("model_id IS NULL"),
            postgresql_where=sa.text("model_id IS NULL"),
        )

    op.drop_table("alias_policies")
