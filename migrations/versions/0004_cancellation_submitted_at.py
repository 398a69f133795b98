"""a cancellation request is shown only once its proofs are stored

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shift_cancellations") as batch:
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE shift_cancellations SET submitted_at = created_at")


def downgrade():
    with op.batch_alter_table("shift_cancellations") as batch:
        batch.drop_column("submitted_at")
