<%
    # A new revision must pass `ruff check` and `ruff format --check` as it is
    # written: double quotes, and only the imports its operations use. The
    # operations themselves are formatted by the post-write hook (storage/migrate.py).
    def literal(value):
        if value is None:
            return "None"
        if isinstance(value, str):
            return '"' + value + '"'
        items = [literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"

    operations = (upgrades or "") + (downgrades or "")
%>"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence
% if "sa." in operations:

import sqlalchemy as sa
% endif
% if "op." in operations:
% if "sa." not in operations:

% endif
from alembic import op
% endif
% if imports:
${imports}
% endif
% if "storage.column_types" in operations:

import storage.column_types
% endif

revision: str = ${literal(up_revision)}
down_revision: str | Sequence[str] | None = ${literal(down_revision)}
branch_labels: str | Sequence[str] | None = ${literal(branch_labels)}
depends_on: str | Sequence[str] | None = ${literal(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
