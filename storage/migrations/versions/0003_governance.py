"""governance

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 07:56:12.631551
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.column_types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed autogenerate output.
    op.create_table(
        "api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("model_patterns", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("expires_at", storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=256), nullable=True),
        sa.Column("last_used_at", storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('reader', 'writer', 'maintainer', 'admin')", name=op.f("ck_api_tokens_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_action_id", ["action", "id"], unique=False)
        batch_op.create_index("ix_audit_log_actor_id", ["actor", "id"], unique=False)
        batch_op.create_index("ix_audit_log_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_audit_log_model_name_id", ["model_name", "id"], unique=False)

    op.create_table(
        "stage_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("required_checks", sa.JSON(), nullable=False),
        sa.Column("updated_at", storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
        sa.CheckConstraint(
            "stage IN ('NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED')",
            name=op.f("ck_stage_policies_stage"),
        ),
        sa.CheckConstraint(
            "required_approvals >= 0", name=op.f("ck_stage_policies_required_approvals")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_stage_policies_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_policies")),
    )
    with op.batch_alter_table("stage_policies", schema=None) as batch_op:
        batch_op.create_index(
            "uq_stage_policies_global_stage",
            ["stage"],
            unique=True,
            sqlite_where=sa.text("model_id IS NULL"),
            postgresql_where=sa.text("model_id IS NULL"),
        )
        batch_op.create_index(
            "uq_stage_policies_model_stage",
            ["model_id", "stage"],
            unique=True,
            sqlite_where=sa.text("model_id IS NOT NULL"),
            postgresql_where=sa.text("model_id IS NOT NULL"),
        )

    op.create_table(
        "transition_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=False),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("archive_existing", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", storage.column_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=256), nullable=True),
        sa.CheckConstraint(
            "status IN ('PENDING', 'COMPLETED', 'REJECTED', 'CANCELLED', 'STALE')",
            name=op.f("ck_transition_requests_status"),
        ),
        sa.CheckConstraint(
            "to_stage IN ('NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED')",
            name=op.f("ck_transition_requests_to_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_transition_requests_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition_requests")),
    )
    with op.batch_alter_table("transition_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transition_requests_model_id_status_id", ["model_id", "status", "id"], unique=False
        )
        batch_op.create_index("ix_transition_requests_status_id", ["status", "id"], unique=False)

    op.create_table(
        "check_reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("details_url", sa.Text(), nullable=True),
        sa.Column("reported_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCESS', 'FAILURE')", name=op.f("ck_check_reports_status")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["transition_requests.id"],
            name=op.f("fk_check_reports_request_id_transition_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_reports")),
    )
    with op.batch_alter_table("check_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_check_reports_request_id_name_id", ["request_id", "name", "id"], unique=False
        )

    op.create_table(
        "transition_reviews",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", storage.column_types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('APPROVED', 'REJECTED', 'COMMENTED')", name=op.f("ck_transition_reviews_kind")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["transition_requests.id"],
            name=op.f("fk_transition_reviews_request_id_transition_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition_reviews")),
    )
    with op.batch_alter_table("transition_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transition_reviews_request_id_id", ["request_id", "id"], unique=False
        )

    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    # Reviewed autogenerate output.
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_column("override_reason")

    with op.batch_alter_table("transition_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_transition_reviews_request_id_id")

    op.drop_table("transition_reviews")
    with op.batch_alter_table("check_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_check_reports_request_id_name_id")

    op.drop_table("check_reports")
    with op.batch_alter_table("transition_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_transition_requests_status_id")
        batch_op.drop_index("ix_transition_requests_model_id_status_id")

    op.drop_table("transition_requests")
    with op.batch_alter_table("stage_policies", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_stage_policies_model_stage",
            sqlite_where=sa.text("model_id IS NOT NULL"),
            postgresql_where=sa.text("model_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_stage_policies_global_stage",
            sqlite_where=sa.text("model_id IS NULL"),
            postgresql_where=sa.text("model_id IS NULL"),
        )

    op.drop_table("stage_policies")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_model_name_id")
        batch_op.drop_index("ix_audit_log_created_at")
        batch_op.drop_index("ix_audit_log_actor_id")
        batch_op.drop_index("ix_audit_log_action_id")

    op.drop_table("audit_log")
    op.drop_table("api_tokens")
