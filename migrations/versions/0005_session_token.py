"""users carry a session token that sessions and remember cookies refer to, so they can be ended

Revision ID: 0005_session_token
Revises: 0004
Create Date: 2026-11-27

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005_session_token"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_token", sa.String(64), nullable=True))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    conn = op.get_bind()
    # Every existing user gets their own token: sessions made before the upgrade (by id) end here.
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id).values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_token", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_users_session_token", ["session_token"])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_session_token", type_="unique")
        batch.drop_column("session_token")
