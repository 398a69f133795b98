"""cancellation can be withdrawn

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW = "status IN ('pending', 'approved', 'rejected', 'withdrawn')"
OLD = "status IN ('pending', 'approved', 'rejected')"


def _replace_check(condition):
    with op.batch_alter_table("shift_cancellations") as batch:
        batch.drop_constraint(op.f("ck_shift_cancellations_status_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_shift_cancellations_status_valid"), condition)


def upgrade():
    _replace_check(NEW)


def downgrade():
    op.execute("UPDATE shift_cancellations SET status = 'rejected' WHERE status = 'withdrawn'")
    _replace_check(OLD)
