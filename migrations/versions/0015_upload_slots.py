"""upload slots: single-use permissions for a browser to post one proof file straight to the store

Revision ID: 0015_upload_slots
Revises: 0014_daily_rollup
Create Date: 2026-11-27

"""
import sqlalchemy as sa
from alembic import op

revision = "0015_upload_slots"
down_revision = "0014_daily_rollup"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upload_slots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_upload_slots_owner_id_users"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_upload_slots_user_id_users"),
                  nullable=False),
        sa.Column("cancellation_id", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_upload_slots"),
        sa.UniqueConstraint("uuid", name="uq_upload_slots_uuid"),
    )
    op.create_index("ix_upload_slots_user_open", "upload_slots", ["user_id", "claimed_at", "expires_at"])


def downgrade():
    op.drop_index("ix_upload_slots_user_open", table_name="upload_slots")
    op.drop_table("upload_slots")
