"""retention: a business's retention months, legal holds, erased people, purged media tombstones and
deletion reports

Revision ID: 0012_retention
Revises: 0011_export
Create Date: 2026-11-27

"""
import sqlalchemy as sa
from alembic import op

revision = "0012_retention"
down_revision = "0011_export"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("retention_months", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("media_objects") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_legal_holds_owner_id_users"),
                  nullable=False),
        sa.Column("cancellation_id", sa.Integer(), sa.ForeignKey(
            "shift_cancellations.id", name="fk_legal_holds_cancellation_id_shift_cancellations"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_legal_holds_placed_by_id_users"), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_legal_holds_released_by_id_users"), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index("ix_legal_holds_cancellation_id", "legal_holds", ["cancellation_id"])
    op.create_index("ix_legal_holds_active", "legal_holds", ["owner_id", "cancellation_id"],
                    postgresql_where=sa.text("released_at IS NULL"), sqlite_where=sa.text("released_at IS NULL"))
    op.create_table(
        "deletion_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_deletion_reports_owner_id_users"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_deletion_reports_subject_id_users"), nullable=True),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_deletion_reports_created_by_id_users"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deletion_reports"),
    )
    op.create_index("ix_deletion_reports_owner_id", "deletion_reports", ["owner_id"])


def downgrade():
    op.drop_table("deletion_reports")
    op.drop_index("ix_legal_holds_active", table_name="legal_holds")
    op.drop_index("ix_legal_holds_cancellation_id", table_name="legal_holds")
    op.drop_table("legal_holds")
    with op.batch_alter_table("media_objects") as batch:
        batch.drop_column("purged_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("retention_months")
