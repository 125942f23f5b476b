"""MLflow version fields: the logged model id and the run link of each version

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000

Two nullable columns (versions registered before them have neither): MLflow 3
registers a version from a logged model (`models:/m-<id>`) and names it in
`model_id`, and a remote tracking server's UI link to the run in `run_link`.
Both are stored as given and returned by the MLflow API and GraphQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "model_versions", sa.Column("logged_model_id", sa.String(length=256), nullable=True)
    )
    op.add_column("model_versions", sa.Column("run_link", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("run_link")
        batch.drop_column("logged_model_id")
