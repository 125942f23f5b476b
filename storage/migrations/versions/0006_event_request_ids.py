"""event request ids: which request made each webhook event

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:00:00.000000

A nullable column (events written before it have none): the dispatcher puts
it on the span of each send, so a trace or a log line of a delivery leads
back to the request (and its audit row) that caused it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_events", sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_column("request_id")
