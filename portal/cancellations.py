"""The cancellation workflow: request with proofs, add or remove proofs, withdraw, approve or reject.

Views call these; these call the media orchestrator and audit.record, and own every commit.
"""
from sqlalchemy.exc import SQLAlchemyError

from . import audit
from .extensions import db
from .media import orchestrator
from .media.storage import StorageError
from .models import MediaObject, Shift, ShiftCancellation, utcnow


class WorkflowError(Exception):
    """The action does not fit the request's state (for example, deciding twice)."""


def cancellable_shifts(employee):
    """The employee's upcoming shifts that can still be cancelled, soonest first."""
    return db.session.execute(
        db.select(Shift)
        .where(Shift.employee_id == employee.id, Shift.status == "scheduled", Shift.starts_at > utcnow())
        .order_by(Shift.starts_at)
        .limit(60)
    ).scalars().all()


def request_cancellation(shift, reason, files, *, actor, source=None):
    """Create a pending request with its proofs, all or nothing; the shift shows the request."""
    if shift.status != "scheduled" or shift.employee_id != actor.id:
        raise WorkflowError("This shift cannot be cancelled.")
    cancellation = ShiftCancellation(owner_id=shift.owner_id, shift_id=shift.id, employee_id=actor.id,
                                     reason=reason.strip(), status="pending", created_at=utcnow())
    db.session.add(cancellation)
    db.session.commit()

    def finish():
        shift.status = "cancellation_requested"
        audit.record("cancellation.request", actor=actor, owner_id=shift.owner_id, source=source,
                     shift_id=shift.id, detail={"cancellation_id": cancellation.id, "files": len(files)})

    try:
        orchestrator().store_cancellation_proofs(cancellation, files, actor=actor, source=source, on_ready=finish)
    except (StorageError, SQLAlchemyError):
        _forget(cancellation.id)
        raise
    return cancellation


def _forget(cancellation_id):
    """Remove a request whose proofs could not be stored, so no half-written request stays behind."""
    db.session.rollback()
    db.session.execute(db.delete(ShiftCancellation).where(ShiftCancellation.id == cancellation_id))
    db.session.commit()


def _require_pending(cancellation):
    if cancellation.status != "pending":
        raise WorkflowError("This request has already been decided or withdrawn.")


def add_proofs(cancellation, files, *, actor, source=None):
    """Attach more proofs to a pending request."""
    _require_pending(cancellation)
    return orchestrator().store_cancellation_proofs(cancellation, files, actor=actor, source=source)


def remove_proof(cancellation, media, *, actor, source=None):
    """Remove one proof of a pending request (the object versions stay restorable)."""
    _require_pending(cancellation)
    orchestrator().delete_media(media, actor=actor, source=source)


def withdraw(cancellation, *, actor, source=None):
    """The employee takes the request back; the shift is scheduled again."""
    _require_pending(cancellation)
    cancellation.status = "withdrawn"
    cancellation.shift.status = "scheduled"
    audit.record("cancellation.withdraw", actor=actor, owner_id=cancellation.owner_id, source=source,
                 shift_id=cancellation.shift_id, detail={"cancellation_id": cancellation.id})
    db.session.commit()


def decide(cancellation, approve, comment, *, actor, source=None):
    """Approve (the shift is cancelled) or reject (the shift stays scheduled), with an optional comment."""
    _require_pending(cancellation)
    cancellation.status = "approved" if approve else "rejected"
    cancellation.decided_by_id = actor.id
    cancellation.decided_at = utcnow()
    cancellation.decision_comment = (comment or "").strip() or None
    cancellation.shift.status = "cancelled" if approve else "scheduled"
    audit.record("cancellation.approve" if approve else "cancellation.reject", actor=actor,
                 owner_id=cancellation.owner_id, source=source, shift_id=cancellation.shift_id,
                 detail={"cancellation_id": cancellation.id, "comment": cancellation.decision_comment})
    db.session.commit()


def proof_of(cancellation, media_id):
    """The ready proof with this id on this request, or None."""
    return db.session.execute(
        db.select(MediaObject).where(
            MediaObject.id == media_id, MediaObject.context == "shift_cancellation",
            MediaObject.subject_id == cancellation.id, MediaObject.status == "ready",
            MediaObject.deleted_at.is_(None))
    ).scalar_one_or_none()
