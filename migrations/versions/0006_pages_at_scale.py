"""pages at scale: cursor-friendly indexes for the audit log and cancellations, a covering index of live
media, and per-business storage counters (filled from the rows here, kept by the app from now on)

Every index is justified by an EXPLAIN in docs/performance.md.

Revision ID: 0006_pages_at_scale
Revises: 0005_session_token
Create Date: 2026-11-26

"""
import sqlalchemy as sa
from alembic import op

revision = "0006_pages_at_scale"
down_revision = "0005_session_token"
branch_labels = None
depends_on = None

SUBMITTED = "submitted_at IS NOT NULL"
LIVE = "status = 'ready' AND deleted_at IS NULL"


def _where(condition):
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade():
    op.drop_index("ix_audit_events_owner_at", table_name="audit_events")
    op.create_index("ix_audit_events_owner_at_id", "audit_events", ["owner_id", "at", "id"])
    op.create_index("ix_audit_events_owner_actor_at", "audit_events", ["owner_id", "actor_id", "at", "id"])
    op.create_index("ix_audit_events_owner_action_at", "audit_events", ["owner_id", "action", "at", "id"])
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])

    op.drop_index("ix_shift_cancellations_owner_created", table_name="shift_cancellations")
    op.create_index("ix_shift_cancellations_submitted", "shift_cancellations", ["owner_id", "created_at", "id"],
                    **_where(SUBMITTED))
    op.create_index("ix_shift_cancellations_status", "shift_cancellations",
                    ["owner_id", "status", "created_at", "id"], **_where(SUBMITTED))
    op.create_index("ix_shift_cancellations_employee", "shift_cancellations", ["employee_id", "created_at"])

    op.create_index("ix_media_objects_live_owner", "media_objects", ["owner_id"],
                    postgresql_include=["size", "thumbnail_size"], **_where(LIVE))

    op.create_table(
        "business_storage",
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True, autoincrement=False),
        sa.Column("objects", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
    )
    op.execute(f"""
        INSERT INTO business_storage (owner_id, objects, bytes)
        SELECT owner_id,
               2 * count(*),
               coalesce(sum(size + coalesce(thumbnail_size, 0)), 0)
        FROM media_objects WHERE {LIVE} GROUP BY owner_id
    """)


def downgrade():
    op.drop_table("business_storage")
    op.drop_index("ix_media_objects_live_owner", table_name="media_objects")
    op.drop_index("ix_shift_cancellations_employee", table_name="shift_cancellations")
    op.drop_index("ix_shift_cancellations_status", table_name="shift_cancellations")
    op.drop_index("ix_shift_cancellations_submitted", table_name="shift_cancellations")
    op.create_index("ix_shift_cancellations_owner_created", "shift_cancellations", ["owner_id", "created_at"])
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    op.drop_index("ix_audit_events_owner_action_at", table_name="audit_events")
    op.drop_index("ix_audit_events_owner_actor_at", table_name="audit_events")
    op.drop_index("ix_audit_events_owner_at_id", table_name="audit_events")
    op.create_index("ix_audit_events_owner_at", "audit_events", ["owner_id", "at"])
