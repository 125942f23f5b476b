"""event log wake-ups: PostgreSQL notifies live readers from the events' INSERT

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:00:00.000000

Every change ran `NOTIFY modelreg_events` as a statement of its own after
its events' INSERT, to wake live readers in other processes at commit. A
statement trigger on webhook_events now sends it from the INSERT itself
(PostgreSQL still delivers it only at commit, once per transaction), so a
change's events are one statement. Nothing on SQLite (readers there watch
the WAL file).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE FUNCTION modelreg_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('modelreg_events', '');
    RETURN NULL;
END
$$
"""

_TRIGGER = """
CREATE TRIGGER webhook_events_notify AFTER INSERT ON webhook_events
FOR EACH STATEMENT EXECUTE FUNCTION modelreg_events_notify()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)
        op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS webhook_events_notify ON webhook_events")
        op.execute("DROP FUNCTION IF EXISTS modelreg_events_notify()")
