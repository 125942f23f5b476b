"""event log: every change's events are kept, with a commit-safe position

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00.000000

`webhook_events` becomes the registry's event log: written for every change,
whether or not a webhook matches. It gains the actor, the version and the
stage a version moved into (for filters), and `xid`: on PostgreSQL the id of
the writing transaction, which readers order by before the row id (see
storage/queries/events.py); 0 on SQLite and for the rows already there (they
committed long ago, so they sort first, by id, as before).

The rows already there get actor, version and stage from their `data`.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_webhook_events_xid_id", ["xid", "id"]),
    ("ix_webhook_events_model_name_xid_id", ["model_name", "xid", "id"]),
    ("ix_webhook_events_created_at", ["created_at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("xid", sa.BigInteger(), server_default="0", nullable=False))
    for name, columns in _INDEXES:
        op.create_index(name, "webhook_events", columns)
    _fill_from_data()


def downgrade() -> None:
    for name, _ in _INDEXES:
        op.drop_index(name, table_name="webhook_events")
    with op.batch_alter_table("webhook_events") as batch:
        for column in ("xid", "stage", "version", "actor"):
            batch.drop_column(column)


def _fill_from_data() -> None:
    events = sa.table(
        "webhook_events",
        sa.column("id", sa.Integer),
        sa.column("type", sa.String),
        sa.column("data", sa.JSON),
        sa.column("actor", sa.String),
        sa.column("version", sa.Integer),
        sa.column("stage", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(events.c.id, events.c.type, events.c.data)).all()
    updates = [
        {"b_id": row.id, **_columns_of(row.type, row.data if isinstance(row.data, dict) else {})}
        for row in rows
    ]
    if updates:
        bind.execute(
            events.update()
            .where(events.c.id == sa.bindparam("b_id"))
            .values(
                actor=sa.bindparam("actor"),
                version=sa.bindparam("version"),
                stage=sa.bindparam("stage"),
            ),
            updates,
        )


def _columns_of(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """What webhooks/events.py derives for a new event, from an old event's `data`."""
    version = None
    for key in ("modelVersion", "restored"):
        if isinstance(data.get(key), dict):
            version = data[key].get("version")
            break
    else:
        if isinstance(data.get("version"), int):
            version = data["version"]
    stage = None
    if event_type == "model_version.stage_changed":
        stage = data.get("toStage")
    elif event_type == "model.rolled_back":
        stage = "PRODUCTION"
    elif event_type.startswith("transition_request.") or event_type == "check.reported":
        request = data.get("transitionRequest")
        stage = request.get("toStage") if isinstance(request, dict) else None
    actor = data.get("actor")
    return {
        "actor": actor if isinstance(actor, str) else None,
        "version": version if isinstance(version, int) else None,
        "stage": stage if isinstance(stage, str) else None,
    }
