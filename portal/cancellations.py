"""The cancellation workflow: request with proofs, add, replace or remove proofs, withdraw, approve or reject.

Views call these, and the queue calls process_proof; these call the media orchestrator and audit.record and
own every commit. State changes are conditional updates, so two tabs, two managers or a manager and a
worker acting at once cannot both win.
"""
import time
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app

from . import audit, jobs, metrics
from .audit import RequestInfo
from .extensions import db
from .mail import messages
from .media import images, orchestrator
from .media.validation import ValidationError
from .models import MediaObject, Shift, ShiftCancellation, utcnow

PROCESS_JOB = "portal.cancellations.process_proof"
DECIDED = "This request has already been decided or withdrawn."


class WorkflowError(Exception):
    """The action does not fit the request's state (for example, deciding twice)."""


class OwnRequestError(WorkflowError):
    """A manager tried to decide a request they made themselves (as an employee, before a promotion say)."""


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
    """Create a request with its proofs in one transaction and queue their processing; managers see it once
    every proof is ready. Raises jobs.QueueUnavailableError, with nothing stored, when no worker could run."""
    with _sending(shift.owner_id, files, actor) as receipt:
        jobs.require_queue()
        if not _move_shift(shift.id, "scheduled", "cancellation_requested", employee_id=actor.id):
            db.session.rollback()
            raise WorkflowError("This shift cannot be cancelled.")
        cancellation = ShiftCancellation(owner_id=shift.owner_id, shift_id=shift.id, employee_id=actor.id,
                                         reason=reason.strip(), status="pending", created_at=utcnow())
        db.session.add(cancellation)
        db.session.flush()
        audit.record("cancellation.request", actor=actor, owner_id=shift.owner_id, source=source,
                     shift_id=shift.id, detail={"cancellation_id": cancellation.id, "files": len(files)})
        rows, batch = _commit_upload(receipt, cancellation, actor, source)
    _start_processing(rows, batch, new_request=cancellation)
    return cancellation


@contextmanager
def _sending(owner_id, files, actor):
    """Start putting the files under incoming/ at once, so the store's transfer runs beside the checks and
    inserts of the block; if the block ends without committing their rows, what landed is deleted."""
    receipt = orchestrator().send(files, owner_id=owner_id, actor=actor)
    try:
        yield receipt
    except BaseException:
        receipt.undo()
        raise


def _commit_upload(receipt, cancellation, actor, source, before_commit=None):
    """Commit the receipt's processing rows with the rest of the caller's unit of work once their puts have
    landed; if anything fails (before_commit refusing included), nothing of it stays. Returns the rows and their
    jobs, built but not sent (_start_processing sends them).

    Everything but the commit runs while the puts are still on their way, before_commit's lock on the request
    row included: a decision or another upload to the same request waits for the rest of the transfer (the job's
    commit waits for its thumbnail's put the same way), and the request's answer waits only for the commit and
    the jobs' one round trip."""
    media, started = orchestrator(), time.perf_counter()
    try:
        rows = media.receive(receipt, context="shift_cancellation", subject_id=cancellation.id,
                             shift_id=cancellation.shift_id, actor=actor)
        db.session.flush()
        origin = {"ip": source.ip, "user_agent": source.user_agent} if source else None
        batch = jobs.prepare([(PROCESS_JOB, (row.id, origin), f"process media {row.id}") for row in rows])
        if before_commit:  # last before the wait: the request row is held no longer than it must be
            before_commit()
        receipt.settle()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise  # _sending deletes what the receipt put
    receipt.keep()
    metrics.UPLOAD_SECONDS.observe(time.perf_counter() - started)
    return rows, batch


def _start_processing(rows, batch, new_request=None, replaced=None):
    """Queue the rows' jobs; if Redis fails meanwhile, undo the whole upload (a new request, or the removal of
    the refused file it replaced, too) and raise."""
    try:
        batch.send()
    except jobs.QueueUnavailableError:
        # from the identity map: reading row.id after the commit would load each expired row again
        ids = [sa.inspect(row).identity[0] for row in rows]
        replaced_id = sa.inspect(replaced).identity[0] if replaced is not None else None
        db.session.rollback()
        orchestrator().discard(db.session.execute(db.select(MediaObject).where(MediaObject.id.in_(ids))).scalars().all())
        if replaced_id is not None:  # the refused file is back on the card, to be replaced again
            db.session.execute(db.update(MediaObject).where(MediaObject.id == replaced_id,
                                                            MediaObject.status == "refused")
                               .values(deleted_at=None).execution_options(synchronize_session=False))
        db.session.commit()
        if new_request is not None:
            forget(new_request.id, new_request.shift_id)
        raise


def requeue(row):
    """Queue a row stuck in processing again (flask media verify --fix)."""
    jobs.enqueue(PROCESS_JOB, row.id, None, description=f"process media {row.id} again")


def forget(cancellation_id, shift_id):
    """Remove a request that never got its proofs and give the shift back, leaving nothing half-written."""
    db.session.rollback()
    db.session.execute(db.delete(ShiftCancellation).where(ShiftCancellation.id == cancellation_id,
                                                          ShiftCancellation.submitted_at.is_(None)))
    _move_shift(shift_id, "cancellation_requested", "scheduled")
    db.session.commit()


def process_proof(media_id, origin=None):
    """The job: check one proof in full, store its canonical file and thumbnail, and attach it to its request
    (or refuse it with the message why). Safe to run twice: a row that is no longer processing is left alone."""
    media, row = orchestrator(), db.session.get(MediaObject, media_id)
    if row is None or row.status != "processing" or row.purged_at is not None:  # erased before the job ran
        return
    with metrics.PROCESSING_SECONDS.time():
        _process(media, row, _source(origin))


def refuse_unreadable(media_id, origin=None):
    """What follows when every try of a proof's job ended its process (a decoder crashed on the file, or ran out
    of the work-horse's memory): the file is refused as unreadable, so the employee sends another instead of
    watching "checking the file" for ever, and `verify --fix` does not queue the same crash again."""
    row = db.session.get(MediaObject, media_id)
    if row is None or row.status != "processing" or row.purged_at is not None:
        return
    _refuse(orchestrator(), row, ValidationError(images.UNREADABLE, code="unreadable"), _source(origin))


process_proof.after_last_crash = "portal.cancellations.refuse_unreadable"


def _source(origin):
    """The request a job was queued from (its address and browser), for the audit events the job writes."""
    return RequestInfo(**origin) if origin else None


def _refuse(media, row, error, source):
    refused = media.refuse(row, error, source=source)
    db.session.commit()
    if refused and error.code != "expired":  # an expired file has no incoming object left to drop
        media.drop_incoming(row)


def _process(media, row, source):
    try:
        promotion = media.promote(row, media.process(row))  # a StorageError fails the job; the queue retries it
    except ValidationError as error:
        db.session.rollback()  # promote set the row's stored type and sizes before the decode refused the file
        _refuse(media, row, error, source)
        return
    except BaseException:
        db.session.rollback()  # the values promote set on the row are not the row's
        raise
    try:  # the thumbnail's put runs on while the row is written; the commit waits for it
        if not _hold_pending(row.subject_id):
            # decided or withdrawn meanwhile: no proof joins a request after its decision (discard deletes the
            # incoming object with the rest)
            media.discard([row], promotion.landed())
            db.session.commit()
            return
        if not media.mark_ready(row, promotion.file, source=source):
            # erased while the job ran (its bytes must not come back, and its incoming object went with the
            # erasure), or another run of the job made it ready first (its versions are the row's): nothing this
            # run put stays, and the incoming object is not deleted twice (a second delete leaves a delete
            # marker on a versioned bucket)
            promotion.undo()
            db.session.commit()
            return
        _submit_when_complete(row.subject_id)
        promotion.settle()  # a StorageError: both puts undone, and the retry starts over
        db.session.commit()
    except BaseException:
        db.session.rollback()
        promotion.undo()  # the retry puts them again; the row still waits with its incoming bytes
        raise
    media.drop_incoming(row)


def _submit_when_complete(cancellation_id):
    """Show the request to managers once it has a ready proof and none processing or refused."""
    by_status = dict(db.session.execute(
        db.select(MediaObject.status, sa.func.count()).where(
            MediaObject.context == "shift_cancellation", MediaObject.subject_id == cancellation_id,
            MediaObject.kept()).group_by(MediaObject.status)).all())  # one query on the worker's path
    if by_status.get("ready") and not by_status.get("processing") and not by_status.get("refused"):
        submitted = db.session.execute(db.update(ShiftCancellation).where(
            ShiftCancellation.id == cancellation_id, ShiftCancellation.submitted_at.is_(None))
            .values(submitted_at=utcnow()).execution_options(synchronize_session=False)).rowcount
        if submitted:  # the mail to reviewers commits with the request becoming visible, or not at all
            messages.new_request(db.session.get(ShiftCancellation, cancellation_id))


def _claim(cancellation, new_status, *, submitted_only, **values):
    """Move a pending request to new_status; WorkflowError if someone else got there first."""
    query = db.update(ShiftCancellation).where(ShiftCancellation.id == cancellation.id,
                                               ShiftCancellation.status == "pending")
    if submitted_only:  # a request still being uploaded is not shown to managers, so they cannot decide it
        query = query.where(ShiftCancellation.submitted_at.is_not(None))
    changed = db.session.execute(query.values(status=new_status, **values)
                                 .execution_options(synchronize_session="fetch")).rowcount
    if changed != 1:
        db.session.rollback()
        raise WorkflowError(DECIDED)


def _require_pending(cancellation):
    if cancellation.status != "pending":
        raise WorkflowError(DECIDED)


def _counted_proofs(cancellation_id):
    """Proofs that count against the cap: ready or still processing (a refused one is waiting to be replaced)."""
    return db.session.execute(
        db.select(sa.func.count()).select_from(MediaObject).where(
            MediaObject.context == "shift_cancellation", MediaObject.subject_id == cancellation_id,
            MediaObject.kept(), MediaObject.status.in_(("processing", "ready")))
    ).scalar_one()


def proof_room(cancellation):
    """How many more proofs the request may take: MEDIA_MAX_FILES counts every proof, whichever post brought it."""
    return max(0, current_app.config["MEDIA_MAX_FILES"] - _counted_proofs(cancellation.id))


def _hold_pending(cancellation_id):
    """A conditional update: True while the request is pending, and its row stays locked until commit, so a
    decision or another upload to the same request waits for this transaction instead of racing it. Every caller
    changes the request's proofs, so it also moves updated_at (the API's feed shows the request again)."""
    return db.session.execute(
        db.update(ShiftCancellation)
        .where(ShiftCancellation.id == cancellation_id, ShiftCancellation.status == "pending")
        .values(status="pending", updated_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount == 1


def proofs_changed(cancellation_ids):
    """Move updated_at of these requests, whatever their status (proofs brought back by `flask media restore`),
    so the API's feed shows them again; joins the caller's transaction."""
    if cancellation_ids:
        db.session.execute(db.update(ShiftCancellation).where(ShiftCancellation.id.in_(set(cancellation_ids)))
                           .values(updated_at=utcnow()).execution_options(synchronize_session=False))


def add_proofs(cancellation, files, *, actor, source=None, replaces=None):
    """Attach more proofs to a pending request within its cap (replacing a refused one, if given) and queue
    their processing; refused at the commit if the request was decided or filled meanwhile."""
    with _sending(cancellation.owner_id, files, actor) as receipt:
        _require_pending(cancellation)
        jobs.require_queue()

        def still_open():
            # in the transaction that adds the rows, where they already count; the request row stays locked
            if not _hold_pending(cancellation.id):
                raise WorkflowError(DECIDED)
            if replaces is not None:
                replaces.deleted_at = utcnow()
            counted, cap = _counted_proofs(cancellation.id), current_app.config["MEDIA_MAX_FILES"]
            if counted > cap:  # too many files, or another post filled the request meanwhile
                raise ProofLimitError(max(0, cap - (counted - len(files))))

        rows, batch = _commit_upload(receipt, cancellation, actor, source, before_commit=still_open)
    _start_processing(rows, batch, replaced=replaces)
    return rows


def remove_proof(cancellation, media, *, actor, source=None):
    """Remove one proof (ready or refused) of a pending request; the object versions stay restorable."""
    _require_pending(cancellation)
    if not _hold_pending(cancellation.id):
        db.session.rollback()
        raise WorkflowError(DECIDED)
    store = orchestrator()
    if not store.hide_media(media, actor=actor, source=source):
        db.session.rollback()
        return  # another tab removed it a moment ago: its request recorded it and deletes the objects
    _submit_when_complete(cancellation.id)
    db.session.commit()
    store.delete_objects(media)


def withdraw(cancellation, *, actor, source=None):
    """The employee takes the request back; the shift is scheduled again."""
    _claim(cancellation, "withdrawn", submitted_only=False)
    _move_shift(cancellation.shift_id, "cancellation_requested", "scheduled")
    audit.record("cancellation.withdraw", actor=actor, owner_id=cancellation.owner_id, source=source,
                 shift_id=cancellation.shift_id, detail={"cancellation_id": cancellation.id})
    db.session.commit()
    db.session.refresh(cancellation)


def decide(cancellation, approve, comment, *, actor, source=None):
    """Approve (the shift is cancelled) or reject (the shift stays scheduled), with an optional comment. Nobody
    decides their own request (OwnRequestError): another manager or the owner does."""
    if actor.id == cancellation.employee_id:
        raise OwnRequestError("a person's own request is decided by someone else")
    comment = (comment or "").strip() or None
    _claim(cancellation, "approved" if approve else "rejected", submitted_only=True, decided_by_id=actor.id,
           decided_at=utcnow(), decision_comment=comment)
    _move_shift(cancellation.shift_id, "cancellation_requested", "cancelled" if approve else "scheduled")
    audit.record("cancellation.approve" if approve else "cancellation.reject", actor=actor,
                 owner_id=cancellation.owner_id, source=source, shift_id=cancellation.shift_id,
                 detail={"cancellation_id": cancellation.id, "comment": comment})
    messages.decision(cancellation)
    db.session.commit()
    db.session.refresh(cancellation)


def proof_of(cancellation, media_id, statuses=("ready",)):
    """The kept proof with this id on this request in one of these states, or None."""
    return db.session.execute(
        db.select(MediaObject).where(
            MediaObject.id == media_id, MediaObject.context == "shift_cancellation",
            MediaObject.subject_id == cancellation.id, MediaObject.kept(), MediaObject.status.in_(statuses))
    ).scalar_one_or_none()
