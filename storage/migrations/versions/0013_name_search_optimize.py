"""SQLite's trigram index of model names merged into one segment

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:30:00.000000

0005 built `models_name_search` with FTS5's 'rebuild', which leaves the index
in many segments (14 for 9,403 models), and every model added since adds
more until FTS5's automerge folds them. A `nameContains` query looks each
trigram up in every segment: 239 us against 33 us for the same query once
merged into one (1M versions, 9,403 models; 'optimize' took 25 ms). From
now on connections merge it incrementally as they refresh the planner's
statistics (storage/database.py); this merges what is there once. Nothing
on PostgreSQL (its pg_trgm GIN index has no segments to merge), nor where
0005 found no FTS5.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    found = bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE name = 'models_name_search'")
    ).first()
    if found is not None:
        op.execute("INSERT INTO models_name_search(models_name_search) VALUES ('optimize')")


def downgrade() -> None:
    pass  # a merged index is a valid index: nothing to undo
