"""The cancellation workflow: request with proofs, add or remove proofs, withdraw, approve or reject.

Views call these; these call the media orchestrator and audit.record, and own every commit. State changes
are conditional updates, so two tabs or two managers acting at once cannot both win.
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


def _move_shift(shift_id, from_status, to_status, employee_id=None):
    """Change a shift's status only if it still has from_status; True when this call made the change."""
    query = db.update(Shift).where(Shift.id == shift_id, Shift.status == from_status).values(status=to_status)
    if employee_id is not None:
        query = query.where(Shift.employee_id == employee_id)
    return db.session.execute(query.execution_options(synchronize_session="fetch")).rowcount == 1


def request_cancellation(shift, reason, files, *, actor, source=None):
    """Create a request with its proofs, all or nothing; it becomes visible once every proof is stored."""
    if not _move_shift(shift.id, "scheduled", "cancellation_requested", employee_id=actor.id):
        db.session.rollback()
        raise WorkflowError("This shift cannot be cancelled.")
    cancellation = ShiftCancellation(owner_id=shift.owner_id, shift_id=shift.id, employee_id=actor.id,
                                     reason=reason.strip(), status="pending", created_at=utcnow())
    db.session.add(cancellation)
    db.session.commit()  # the shift is claimed: a second tab cannot file another request for it

    def finish():
        cancellation.submitted_at = utcnow()
        audit.record("cancellation.request", actor=actor, owner_id=shift.owner_id, source=source,
                     shift_id=shift.id, detail={"cancellation_id": cancellation.id, "files": len(files)})

    try:
        orchestrator().store_cancellation_proofs(cancellation, files, actor=actor, source=source, on_ready=finish)
    except (StorageError, SQLAlchemyError):
        forget(cancellation.id, shift.id)
        raise
    return cancellation


def forget(cancellation_id, shift_id):
    """Remove a request whose proofs could not be stored and give the shift back, leaving nothing half-written."""
    db.session.rollback()
    db.session.execute(db.delete(ShiftCancellation).where(ShiftCancellation.id == cancellation_id,
                                                          ShiftCancellation.submitted_at.is_(None)))
    _move_shift(shift_id, "cancellation_requested", "scheduled")
    db.session.commit()


def _claim(cancellation, new_status, **values):
    """Move a submitted, pending request to new_status; WorkflowError if someone else got there first."""
    changed = db.session.execute(
        db.update(ShiftCancellation)
        .where(ShiftCancellation.id == cancellation.id, ShiftCancellation.status == "pending",
               ShiftCancellation.submitted_at.is_not(None))
        .values(status=new_status, **values).execution_options(synchronize_session="fetch")
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise WorkflowError("This request has already been decided or withdrawn.")


def _require_pending(cancellation):
    if cancellation.status != "pending" or cancellation.submitted_at is None:
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
    _claim(cancellation, "withdrawn")
    _move_shift(cancellation.shift_id, "cancellation_requested", "scheduled")
    audit.record("cancellation.withdraw", actor=actor, owner_id=cancellation.owner_id, source=source,
                 shift_id=cancellation.shift_id, detail={"cancellation_id": cancellation.id})
    db.session.commit()
    db.session.refresh(cancellation)


def decide(cancellation, approve, comment, *, actor, source=None):
    """Approve (the shift is cancelled) or reject (the shift stays scheduled), with an optional comment."""
    comment = (comment or "").strip() or None
    _claim(cancellation, "approved" if approve else "rejected", decided_by_id=actor.id, decided_at=utcnow(),
           decision_comment=comment)
    _move_shift(cancellation.shift_id, "cancellation_requested", "cancelled" if approve else "scheduled")
    audit.record("cancellation.approve" if approve else "cancellation.reject", actor=actor,
                 owner_id=cancellation.owner_id, source=source, shift_id=cancellation.shift_id,
                 detail={"cancellation_id": cancellation.id, "comment": comment})
    db.session.commit()
    db.session.refresh(cancellation)


def proof_of(cancellation, media_id):
    """The ready proof with this id on this request, or None."""
    return db.session.execute(
        db.select(MediaObject).where(
            MediaObject.id == media_id, MediaObject.context == "shift_cancellation",
            MediaObject.subject_id == cancellation.id, MediaObject.live())
    ).scalar_one_or_none()
