"""schedule: shifts carry the id the main shift app knows them by (CSV import, API), unique per business

Revision ID: 0009_schedule
Revises: 0008_people_and_mail
Create Date: 2026-11-27

"""
import sqlalchemy as sa
from alembic import op

revision = "0009_schedule"
down_revision = "0008_people_and_mail"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shifts") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
        batch.create_unique_constraint("uq_shifts_owner_external_id", ["owner_id", "external_id"])


def downgrade():
    with op.batch_alter_table("shifts") as batch:
        batch.drop_constraint("uq_shifts_owner_external_id", type_="unique")
        batch.drop_column("external_id")
