"""people fixes: people the API created before this revision got a random password hash; they get NULL, the
portal's one mark of "invited, no password yet", so the staff page shows them as invited and can invite them

Revision ID: 0013_people_fixes
Revises: 0012_retention
Create Date: 2026-11-27

"""
import sqlalchemy as sa
from alembic import op

revision = "0013_people_fixes"
down_revision = "0012_retention"
branch_labels = None
depends_on = None


def upgrade():
    # Nobody knew those random passwords, so such a person never signed in; anyone who chose a password from a
    # link or signed in has last_sign_in_at set and keeps theirs.
    users = sa.table("users", sa.column("password_hash"), sa.column("external_id"), sa.column("last_sign_in_at"),
                     sa.column("role"))
    op.execute(users.update().where(users.c.external_id.is_not(None), users.c.last_sign_in_at.is_(None),
                                    users.c.role != "owner", users.c.password_hash.is_not(None))
               .values(password_hash=None))


def downgrade():
    pass  # NULL is what the app writes for an invited person; there is nothing to put back
