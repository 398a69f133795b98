"""The data model: users and their businesses, shifts, cancellations, media objects, audit events."""
import secrets
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .config import ROLES
from .extensions import db

SHIFT_STATUSES = ("scheduled", "cancellation_requested", "cancelled")
CANCELLATION_STATUSES = ("pending", "approved", "rejected", "withdrawn")
# pending: a row of the old synchronous flow that never finished (repair removes it); processing: its bytes wait
# under incoming/ for a worker; ready: stored and shown; refused: a worker refused it, with the message why.
MEDIA_STATUSES = ("pending", "processing", "ready", "refused")
MEDIA_CONTEXTS = ("shift_cancellation", "task", "incident")
MAIL_STATUSES = ("pending", "sent", "failed")


def utcnow():
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware timestamp stored as UTC; SQLite keeps it naive, PostgreSQL as timestamptz."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def new_session_token():
    """A fresh random session token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def _where(condition):
    """A partial index's condition, on both databases."""
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def _check_in(column, values):
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=f"{column}_valid")


class User(UserMixin, db.Model):
    """A person who signs in. An owner is the tenant; managers and employees point at their owner."""

    __tablename__ = "users"
    __table_args__ = (_check_in("role", ROLES), sa.UniqueConstraint("owner_id", "external_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    # None until the person sets a password from their invitation link.
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str | None] = mapped_column(sa.String(8))
    # Only meaningful on an owner's row: the business they run.
    business_name: Mapped[str | None] = mapped_column(sa.String(160))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Moscow")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the session and the remember cookie carry instead of the id; a new one ends every session.
    session_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_session_token)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Mail about requests and decisions; invitations and password links are always sent.
    email_notifications: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The main shift app's id of this person (PUT /api/v1/employees/<external_id>), unique in the business.
    external_id: Mapped[str | None] = mapped_column(sa.String(100))
    # Owner's row: months after a request's decision when its proofs are deleted (None: PRIVACY_RETENTION_MONTHS).
    retention_months: Mapped[int | None] = mapped_column()
    # Set when the person's proofs and personal fields were erased; the row stays under a pseudonym for the log.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # post_update: an owner row points at itself, and a flush of it must not see a cycle
    owner: Mapped["User | None"] = relationship(remote_side=[id], foreign_keys=[owner_id], post_update=True)

    @validates("email")
    def _normalise_email(self, key, value):
        # Stored lower-cased, so the unique constraint is case-insensitive on every database.
        return value.strip().lower()

    @validates("role")
    def _check_role(self, key, value):
        if value not in ROLES:
            raise ValueError(f"unknown role {value!r}")
        return value

    @property
    def is_active(self):
        return self.active

    @property
    def status(self):
        """invited (no password set yet), active or deactivated."""
        if not self.active:
            return "deactivated"
        return "invited" if self.password_hash is None else "active"

    @property
    def business(self):
        """The owner row that carries the business name and timezone."""
        return self if self.role == "owner" else self.owner

    def get_id(self):
        """What Flask-Login keeps in the session and the remember cookie: the session token, not the id."""
        return self.session_token

    def end_sessions(self):
        """Sign this user out everywhere: every session and remember cookie made so far stops working."""
        self.session_token = new_session_token()

    def set_password(self, password):
        """Store a salted hash of the password, never the password, and end the sessions the old one opened."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def deactivate(self):
        """Refuse this user's sign-ins from now on and end their sessions."""
        self.active = False
        self.end_sessions()

    def check_password(self, password):
        """True when the password matches the stored hash (never for a person who has not set one)."""
        return self.password_hash is not None and check_password_hash(self.password_hash, password)


class Shift(db.Model):
    """One shift of one employee in one business."""

    __tablename__ = "shifts"
    __table_args__ = (
        _check_in("status", SHIFT_STATUSES),
        sa.Index("ix_shifts_owner_starts", "owner_id", "starts_at"),
        sa.Index("ix_shifts_employee_starts", "employee_id", "starts_at"),
        # the id the main shift app (CSV import, API) knows a shift by, unique within a business
        sa.UniqueConstraint("owner_id", "external_id", name="uq_shifts_owner_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(sa.String(160))
    status: Mapped[str] = mapped_column(sa.String(32), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The main shift app's id of this shift (PUT /api/v1/shifts/<external_id>), unique in the business.
    external_id: Mapped[str | None] = mapped_column(sa.String(100))

    employee: Mapped[User] = relationship(foreign_keys=[employee_id])
    cancellations: Mapped[list["ShiftCancellation"]] = relationship(
        back_populates="shift", order_by="ShiftCancellation.created_at.desc()"
    )


class ShiftCancellation(db.Model):
    """An employee's request to cancel a shift, with its reason, proofs and the decision on it."""

    __tablename__ = "shift_cancellations"
    __table_args__ = (
        _check_in("status", CANCELLATION_STATUSES),
        # The team's list, newest first, with and without a status filter (scanned backwards for DESC, DESC).
        sa.Index("ix_shift_cancellations_submitted", "owner_id", "created_at", "id",
                 **_where("submitted_at IS NOT NULL")),
        sa.Index("ix_shift_cancellations_status", "owner_id", "status", "created_at", "id",
                 **_where("submitted_at IS NOT NULL")),
        sa.Index("ix_shift_cancellations_employee", "employee_id", "created_at"),
        sa.Index("ix_shift_cancellations_updated", "owner_id", "updated_at", "id"),  # the API's change feed
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("shifts.id"), index=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once every proof is stored; until then nobody sees or decides the request.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every UPDATE of the row sets it (onupdate fires for the workflow's conditional updates as well as for
    # flushes), so the API's feed sees each state change and each proof added while pending.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    shift: Mapped[Shift] = relationship(back_populates="cancellations")
    employee: Mapped[User] = relationship(foreign_keys=[employee_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    proofs: Mapped[list["MediaObject"]] = relationship(
        primaryjoin=lambda: sa.and_(
            foreign(MediaObject.subject_id) == ShiftCancellation.id,
            MediaObject.context == "shift_cancellation",
            MediaObject.live(),
        ),
        order_by=lambda: MediaObject.uploaded_at,
        viewonly=True,
    )
    # What the employee sees on their card: every file not removed, being processed, ready or refused.
    uploads: Mapped[list["MediaObject"]] = relationship(
        primaryjoin=lambda: sa.and_(
            foreign(MediaObject.subject_id) == ShiftCancellation.id,
            MediaObject.context == "shift_cancellation",
            MediaObject.kept(),
            MediaObject.status != "pending",
        ),
        order_by=lambda: (MediaObject.created_at, MediaObject.id),
        viewonly=True,
    )


class MediaObject(db.Model):
    """One stored file. Its row exists (pending) before its bytes, and is shown only once ready."""

    __tablename__ = "media_objects"
    __table_args__ = (
        _check_in("status", MEDIA_STATUSES),
        _check_in("context", MEDIA_CONTEXTS),
        sa.Index("ix_media_objects_owner_uploaded", "owner_id", "uploaded_at"),
        sa.Index("ix_media_objects_subject", "context", "subject_id"),
        sa.Index("ix_media_objects_status_created", "status", "created_at"),
        # Live files per business with their sizes in the index itself: `flask media verify` sums them without
        # reading the table.
        sa.Index("ix_media_objects_live_owner", "owner_id", postgresql_include=["size", "thumbnail_size"],
                 **_where("status = 'ready' AND deleted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    context: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column()
    shift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shifts.id"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(512), unique=True)
    # Where the bytes wait for a worker (incoming/...); cleared once the worker removed them.
    incoming_key: Mapped[str | None] = mapped_column(sa.String(512))
    version_id: Mapped[str | None] = mapped_column(sa.String(1024))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))  # of the stored bytes: known once processed
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploader_role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(512))
    thumbnail_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a worker refused the file: a stable code and the message in the uploader's language.
    refusal_code: Mapped[str | None] = mapped_column(sa.String(32))
    refusal_message: Mapped[str | None] = mapped_column(sa.Text)
    # Every version of the file and thumbnail, and their backup copies, deleted for good (retention or erasure):
    # the row stays as a tombstone that audit events and deletion reports point at.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])

    @classmethod
    def kept(cls):
        """The condition of a file the uploader still sees: not deleted, whatever its state."""
        return cls.deleted_at.is_(None)

    @classmethod
    def live(cls):
        """The condition every shown or linked file meets: stored completely and not deleted."""
        return sa.and_(cls.status == "ready", cls.deleted_at.is_(None))

    @property
    def stored_bytes(self):
        """Bytes of the file and its thumbnail."""
        return self.size + (self.thumbnail_size or 0)


class BusinessStorage(db.Model):
    """What a business's live files occupy, kept by the same transaction that makes a file live or not, so
    pages and /metrics read one row per business instead of summing every file."""

    __tablename__ = "business_storage"

    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, autoincrement=False)
    objects: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class BusinessDay(db.Model):
    """Uploads and refused files of one business on one of its calendar days (in its own zone), kept by the
    transaction that stores or refuses the file, so a 30-day series reads 30 rows instead of the month's events."""

    __tablename__ = "business_days"
    # every business's last 30 days (flask media stats) without reading the years before them
    __table_args__ = (sa.Index("ix_business_days_day", "day"),)

    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    uploads: Mapped[int] = mapped_column(sa.Integer, default=0)
    bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rejections: Mapped[int] = mapped_column(sa.Integer, default=0)
class UploadSlot(db.Model):
    """One file a browser may post straight to the store (incoming/{owner_id}/{uuid}); claimed once, by its user."""

    __tablename__ = "upload_slots"
    __table_args__ = (sa.Index("ix_upload_slots_user_open", "user_id", "claimed_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cancellation_id: Mapped[int | None] = mapped_column()  # None: for a request not sent yet
    content_type: Mapped[str] = mapped_column(sa.String(100))
    filename: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    """A business's key to /api/v1. Only its SHA-256 and a short prefix are kept; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])


class AuditEvent(db.Model):
    """Who did what to which shift or media, from where, when. Written once, never edited."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # Every index ends in (at, id): the log is read newest first, a page at a time from a cursor.
        sa.Index("ix_audit_events_owner_at_id", "owner_id", "at", "id"),
        sa.Index("ix_audit_events_owner_actor_at", "owner_id", "actor_id", "at", "id"),
        sa.Index("ix_audit_events_owner_action_at", "owner_id", "action", "at", "id"),
        sa.Index("ix_audit_events_action_at", "action", "at"),  # rejections per day across businesses
        sa.Index("ix_audit_events_shift", "shift_id"),
        sa.Index("ix_audit_events_media_at", "media_id", "at", "id"),  # an employee's access report
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(48))
    owner_id: Mapped[int] = mapped_column()
    # Plain ids, not foreign keys: the log outlives whatever it talks about.
    shift_id: Mapped[int | None] = mapped_column()
    media_id: Mapped[int | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class OutboxMail(db.Model):
    """One email, rendered in its recipient's language, written in the transaction of the change that causes it
    and sent after commit; it stays pending (with a later next_attempt_at) while the mail server is down."""

    __tablename__ = "outbox_mail"
    __table_args__ = (
        _check_in("status", MAIL_STATUSES),
        sa.Index("ix_outbox_mail_status_next", "status", "next_attempt_at"),
        sa.Index("ix_outbox_mail_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Plain ids, like the audit log's: a message may outlive what it talks about.
    owner_id: Mapped[int | None] = mapped_column()
    recipient_id: Mapped[int | None] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(32))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(255))
    text_body: Mapped[str] = mapped_column(sa.Text)
    html_body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LegalHold(db.Model):
    """An owner's hold on one request's proofs: neither retention nor erasure deletes them until it is released."""

    __tablename__ = "legal_holds"
    __table_args__ = (sa.Index("ix_legal_holds_active", "owner_id", "cancellation_id", **_where("released_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cancellation_id: Mapped[int] = mapped_column(sa.ForeignKey("shift_cancellations.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    placed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    placed_by: Mapped[User] = relationship(foreign_keys=[placed_by_id])
    cancellation: Mapped[ShiftCancellation] = relationship()


class DeletionReport(db.Model):
    """What an erasure deleted: files, versions, delete markers and backup copies, as the owner downloads it."""

    __tablename__ = "deletion_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # erasure
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # the erased person (pseudonym)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    report: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])
