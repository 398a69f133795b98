"""export: an index of audit events by proof, so an employee's access report reads only their files' events

Revision ID: 0011_export
Revises: 0010_api_tokens
Create Date: 2026-11-27

"""
from alembic import op

revision = "0011_export"
down_revision = "0010_api_tokens"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_events_media_at", "audit_events", ["media_id", "at", "id"])


def downgrade():
    op.drop_index("ix_audit_events_media_at", table_name="audit_events")
