"""media rows wait for a worker: processing and refused states, the incoming key, the refusal and its message

Revision ID: 0007_processing
Revises: 0006_pages_at_scale
Create Date: 2026-11-28

"""
import sqlalchemy as sa
from alembic import op

revision = "0007_processing"
down_revision = "0006_pages_at_scale"
branch_labels = None
depends_on = None

NEW_STATUSES = "status IN ('pending', 'processing', 'ready', 'refused')"
OLD_STATUSES = "status IN ('pending', 'ready')"


def upgrade():
    with op.batch_alter_table("media_objects") as batch:
        batch.add_column(sa.Column("incoming_key", sa.String(512), nullable=True))
        batch.add_column(sa.Column("refusal_code", sa.String(32), nullable=True))
        batch.add_column(sa.Column("refusal_message", sa.Text(), nullable=True))
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=True)
        batch.drop_constraint(op.f("ck_media_objects_status_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_media_objects_status_valid"), NEW_STATUSES)


def downgrade():
    op.execute("DELETE FROM media_objects WHERE status IN ('processing', 'refused')")
    with op.batch_alter_table("media_objects") as batch:
        batch.drop_constraint(op.f("ck_media_objects_status_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_media_objects_status_valid"), OLD_STATUSES)
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=False)
        batch.drop_column("refusal_message")
        batch.drop_column("refusal_code")
        batch.drop_column("incoming_key")
