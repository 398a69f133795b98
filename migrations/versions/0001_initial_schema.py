"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 14:30:30.738844

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('business_name', sa.String(length=160), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('owner', 'manager', 'employee')", name=op.f('ck_users_role_valid')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_users_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_owner_id'), ['owner_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('media_id', sa.Integer(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_owner_at', ['owner_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_events_shift', ['shift_id'], unique=False)

    op.create_table('shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('scheduled', 'cancellation_requested', 'cancelled')", name=op.f('ck_shifts_status_valid')),
    sa.ForeignKeyConstraint(['employee_id'], ['users.id'], name=op.f('fk_shifts_employee_id_users')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_shifts_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts'))
    )
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.create_index('ix_shifts_employee_starts', ['employee_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_shifts_owner_starts', ['owner_id', 'starts_at'], unique=False)

    op.create_table('media_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('context', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('storage_key', sa.String(length=512), nullable=False),
    sa.Column('version_id', sa.String(length=1024), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploader_role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=512), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("context IN ('shift_cancellation', 'task', 'incident')", name=op.f('ck_media_objects_context_valid')),
    sa.CheckConstraint("status IN ('pending', 'ready')", name=op.f('ck_media_objects_status_valid')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_media_objects_owner_id_users')),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_media_objects_shift_id_shifts')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_media_objects_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_objects')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_media_objects_storage_key')),
    sa.UniqueConstraint('uuid', name=op.f('uq_media_objects_uuid'))
    )
    with op.batch_alter_table('media_objects', schema=None) as batch_op:
        batch_op.create_index('ix_media_objects_owner_uploaded', ['owner_id', 'uploaded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_objects_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index('ix_media_objects_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_media_objects_subject', ['context', 'subject_id'], unique=False)

    op.create_table('shift_cancellations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_shift_cancellations_status_valid')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_shift_cancellations_decided_by_id_users')),
    sa.ForeignKeyConstraint(['employee_id'], ['users.id'], name=op.f('fk_shift_cancellations_employee_id_users')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_shift_cancellations_owner_id_users')),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_shift_cancellations_shift_id_shifts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_cancellations'))
    )
    with op.batch_alter_table('shift_cancellations', schema=None) as batch_op:
        batch_op.create_index('ix_shift_cancellations_owner_created', ['owner_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_cancellations_shift_id'), ['shift_id'], unique=False)



def downgrade():
    with op.batch_alter_table('shift_cancellations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_cancellations_shift_id'))
        batch_op.drop_index('ix_shift_cancellations_owner_created')

    op.drop_table('shift_cancellations')
    with op.batch_alter_table('media_objects', schema=None) as batch_op:
        batch_op.drop_index('ix_media_objects_subject')
        batch_op.drop_index('ix_media_objects_status_created')
        batch_op.drop_index(batch_op.f('ix_media_objects_shift_id'))
        batch_op.drop_index('ix_media_objects_owner_uploaded')

    op.drop_table('media_objects')
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_shifts_owner_starts')
        batch_op.drop_index('ix_shifts_employee_starts')

    op.drop_table('shifts')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_shift')
        batch_op.drop_index('ix_audit_events_owner_at')

    op.drop_table('audit_events')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_owner_id'))

    op.drop_table('users')
