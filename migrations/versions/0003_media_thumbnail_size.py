"""media objects record their thumbnail's size

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("media_objects") as batch:
        batch.add_column(sa.Column("thumbnail_size", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("media_objects") as batch:
        batch.drop_column("thumbnail_size")
