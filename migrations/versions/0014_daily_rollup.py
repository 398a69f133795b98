"""daily roll-up: uploads, bytes and refused files per business and local calendar day (filled from the rows
here, kept by the app from now on)

Revision ID: 0014_daily_rollup
Revises: 0013_people_fixes
Create Date: 2026-11-27

"""
from collections import defaultdict
from datetime import timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0014_daily_rollup"
down_revision = "0013_people_fixes"
branch_labels = None
depends_on = None

# A day is the business's own calendar day: PostgreSQL converts with the zone's rules (23- and 25-hour days
# included); SQLite has no zones, so there the rows are counted in Python with zoneinfo.
POSTGRES_FILL = """
INSERT INTO business_days (owner_id, day, uploads, bytes, rejections)
SELECT owner_id, day, sum(uploads), sum(bytes), sum(rejections) FROM (
    SELECT m.owner_id, (m.uploaded_at AT TIME ZONE u.timezone)::date AS day, 1 AS uploads, m.size AS bytes,
           0 AS rejections
    FROM media_objects m JOIN users u ON u.id = m.owner_id
    WHERE m.status = 'ready' AND m.uploaded_at IS NOT NULL
    UNION ALL
    SELECT a.owner_id, (a.at AT TIME ZONE u.timezone)::date, 0, 0, 1
    FROM audit_events a JOIN users u ON u.id = a.owner_id
    WHERE a.action = 'media.reject'
) AS counted GROUP BY owner_id, day
"""


def _fill_in_python(bind):
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
    media = sa.table("media_objects", sa.column("owner_id", sa.Integer), sa.column("uploaded_at", sa.DateTime),
                     sa.column("size", sa.BigInteger), sa.column("status", sa.String))
    events = sa.table("audit_events", sa.column("owner_id", sa.Integer), sa.column("at", sa.DateTime),
                      sa.column("action", sa.String))
    zones = {oid: ZoneInfo(name) for oid, name in bind.execute(sa.select(users.c.id, users.c.timezone))}
    totals = defaultdict(lambda: [0, 0, 0])

    def day(owner_id, at):  # SQLite keeps UTC without its zone
        return owner_id, at.replace(tzinfo=timezone.utc).astimezone(zones[owner_id]).date()

    for owner_id, at, size in bind.execute(sa.select(media.c.owner_id, media.c.uploaded_at, media.c.size).where(
            media.c.status == "ready", media.c.uploaded_at.is_not(None))):
        totals[day(owner_id, at)][0] += 1
        totals[day(owner_id, at)][1] += size
    for owner_id, at in bind.execute(sa.select(events.c.owner_id, events.c.at).where(
            events.c.action == "media.reject", events.c.owner_id.is_not(None))):
        totals[day(owner_id, at)][2] += 1
    rows = [{"owner_id": oid, "day": d, "uploads": u, "bytes": b, "rejections": r}
            for (oid, d), (u, b, r) in totals.items()]
    if rows:
        op.bulk_insert(sa.table("business_days", *(sa.column(name) for name in rows[0])), rows)


def upgrade():
    op.create_table(
        "business_days",
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_business_days_owner_id_users"),
                  nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("uploads", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("rejections", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "day", name="pk_business_days"),
    )
    op.create_index("ix_business_days_day", "business_days", ["day"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(POSTGRES_FILL)
    else:
        _fill_in_python(bind)


def downgrade():
    op.drop_table("business_days")
