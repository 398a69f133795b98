"""people are invited without a password, sign-ins and mail preferences are kept, mail goes through an outbox

Revision ID: 0008_people_and_mail
Revises: 0007_processing
Create Date: 2026-11-27

"""
import sqlalchemy as sa
from alembic import op

revision = "0008_people_and_mail"
down_revision = "0007_processing"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.alter_column("password_hash", existing_type=sa.String(256), nullable=True)
        batch.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("email_notifications", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "outbox_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f("ck_outbox_mail_status_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mail")),
    )
    op.create_index("ix_outbox_mail_status_next", "outbox_mail", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_mail_owner_status", "outbox_mail", ["owner_id", "status"])


def downgrade():
    op.drop_index("ix_outbox_mail_owner_status", table_name="outbox_mail")
    op.drop_index("ix_outbox_mail_status_next", table_name="outbox_mail")
    op.drop_table("outbox_mail")
    # Invited people who never set a password get an unusable hash, so the column can be required again.
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_notifications")
        batch.drop_column("last_sign_in_at")
        batch.alter_column("password_hash", existing_type=sa.String(256), nullable=False)
