"""The cancellation workflow: request with proofs, add or remove proofs, withdraw, approve or reject.

Views call these; these call the media orchestrator and audit.record, and own every commit. State changes
are conditional updates, so two tabs or two managers acting at once cannot both win.
"""
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from . import audit
from .extensions import db
from .mail import messages
from .media import orchestrator
from .media.storage import StorageError
from .models import MediaObject, Shift, ShiftCancellation, utcnow


class WorkflowError(Exception):
    """The action does not fit the request's state (for example, deciding twice)."""


class ProofLimitError(WorkflowError):
    """More proofs than MEDIA_MAX_FILES on one request; `room` is how many more it may take."""

    def __init__(self, room):
        super().__init__(f"room for {room} more proofs")
        self.room = room


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
        messages.new_request(cancellation)  # the mail commits with the request, or not at all

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


def _live_proofs(cancellation):
    return db.session.execute(
        db.select(sa.func.count()).select_from(MediaObject).where(
            MediaObject.context == "shift_cancellation", MediaObject.subject_id == cancellation.id,
            MediaObject.live())
    ).scalar_one()


def proof_room(cancellation):
    """How many more proofs the request may take: MEDIA_MAX_FILES counts every live proof, whichever post brought it."""
    return max(0, current_app.config["MEDIA_MAX_FILES"] - _live_proofs(cancellation))


def _hold_pending(cancellation_id):
    """A no-op conditional update: True while the request is pending, and its row stays locked until commit, so
    a decision or another upload to the same request waits for this transaction instead of racing it."""
    return db.session.execute(
        db.update(ShiftCancellation)
        .where(ShiftCancellation.id == cancellation_id, ShiftCancellation.status == "pending",
               ShiftCancellation.submitted_at.is_not(None))
        .values(status="pending").execution_options(synchronize_session=False)
    ).rowcount == 1


def add_proofs(cancellation, files, *, actor, source=None):
    """Attach more proofs to a pending request, within its cap; refused at the final commit if it was decided."""
    _require_pending(cancellation)
    room = proof_room(cancellation)
    if len(files) > room:
        raise ProofLimitError(room)

    def still_open():
        # runs in the final transaction, where the new rows already count as live
        if not _hold_pending(cancellation.id):
            raise WorkflowError("This request has already been decided or withdrawn.")
        live, cap = _live_proofs(cancellation), current_app.config["MEDIA_MAX_FILES"]
        if live > cap:  # another post filled the request meanwhile
            raise ProofLimitError(max(0, cap - (live - len(files))))

    return orchestrator().store_cancellation_proofs(cancellation, files, actor=actor, source=source,
                                                    on_ready=still_open)


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
    messages.decision(cancellation)
    db.session.commit()
    db.session.refresh(cancellation)


def proof_of(cancellation, media_id):
    """The ready proof with this id on this request, or None."""
    return db.session.execute(
        db.select(MediaObject).where(
            MediaObject.id == media_id, MediaObject.context == "shift_cancellation",
            MediaObject.subject_id == cancellation.id, MediaObject.live())
    ).scalar_one_or_none()
