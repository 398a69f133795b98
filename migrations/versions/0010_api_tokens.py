"""api tokens: per-business keys to /api/v1, external ids of people, and updated_at of
cancellations for the API's change feed

Revision ID: 0010_api_tokens
Revises: 0009_schedule
Create Date: 2026-11-27

"""
import sqlalchemy as sa
from alembic import op

revision = "0010_api_tokens"
down_revision = "0009_schedule"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_api_tokens_owner_id_users"),
                  nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_api_tokens_created_by_id_users"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_owner_id", "api_tokens", ["owner_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("external_id", sa.String(100), nullable=True))
        batch.create_unique_constraint("uq_users_owner_id", ["owner_id", "external_id"])
    # shifts.external_id came with 0009_schedule (CSV import and this API share it)
    with op.batch_alter_table("shift_cancellations") as batch:
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    # The latest moment each existing request is known to have changed.
    op.execute("UPDATE shift_cancellations SET updated_at = coalesce(decided_at, submitted_at, created_at)")
    with op.batch_alter_table("shift_cancellations") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index("ix_shift_cancellations_updated", "shift_cancellations", ["owner_id", "updated_at", "id"])


def downgrade():
    op.drop_index("ix_shift_cancellations_updated", table_name="shift_cancellations")
    with op.batch_alter_table("shift_cancellations") as batch:
        batch.drop_column("updated_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_owner_id", type_="unique")
        batch.drop_column("external_id")
    op.drop_table("api_tokens")
