"""Erasing one person: their proofs for good (every version, thumbnail, backup copy), their personal fields, and
what the audit log says about them, which stays under a pseudonym; a deletion report records what went."""
import csv
import io
import secrets

import sqlalchemy as sa
from flask import current_app

from . import audit
from .extensions import db
from .media import keys as media_keys, storage
from .media.purge import purge
from .models import (AuditEvent, DeletionReport, LegalHold, MediaObject, OutboxMail, ShiftCancellation, UploadSlot,
                     utcnow)
from .retention import lock_requests, purge_rows
from .subject_access.export import ACTION as EXPORT

ERASED_TEXT = "[erased]"


class ErasureRefusedError(Exception):
    """The person cannot be erased: holds are in force on their requests, or they are not erasable at all."""

    def __init__(self, message, holds=()):
        super().__init__(message)
        self.holds = list(holds)


def holds_on(person):
    """The holds in force on the person's requests."""
    return db.session.execute(db.select(LegalHold).join(ShiftCancellation).where(
        ShiftCancellation.employee_id == person.id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.placed_at)).scalars().all()


def _requests_of(person):
    return db.session.execute(db.select(ShiftCancellation).where(
        ShiftCancellation.employee_id == person.id).order_by(ShiftCancellation.id)).scalars().all()


def media_of(person):
    """Every file the person uploaded or that belongs to their requests, not yet deleted for good."""
    requests = db.select(ShiftCancellation.id).where(ShiftCancellation.employee_id == person.id)
    return db.session.execute(db.select(MediaObject).where(
        MediaObject.owner_id == person.owner_id, MediaObject.purged_at.is_(None),
        sa.or_(MediaObject.uploaded_by_id == person.id,
               sa.and_(MediaObject.context == "shift_cancellation", MediaObject.subject_id.in_(requests))))
        .order_by(MediaObject.id)).scalars().all()


def check_erasable(person, actor):
    """Raise ErasureRefusedError unless the owner may erase this person now."""
    if person.role == "owner" or person.id == actor.id or person.owner_id != actor.owner_id:
        raise ErasureRefusedError("the owner's own account is not erased here")
    if person.erased_at is not None:
        raise ErasureRefusedError("this person is erased already")
    lock_requests(ShiftCancellation.employee_id == person.id)  # until the erasure's commit: no hold slips in
    holds = holds_on(person)
    if holds:
        raise ErasureRefusedError("a legal hold applies to this person's requests", holds)


def _scrub_person(person, pseudonym):
    """Replace the personal fields with the pseudonym and blanks; list the fields changed."""
    person.display_name, person.email = pseudonym, f"{pseudonym}@erased.invalid"
    person.password_hash, person.external_id, person.language = None, None, None
    person.email_notifications, person.erased_at = False, utcnow()
    person.deactivate()
    requests = _requests_of(person)
    for request in requests:
        request.reason, request.decision_comment = ERASED_TEXT, None
    mail = db.session.execute(db.delete(OutboxMail).where(OutboxMail.recipient_id == person.id)).rowcount
    return {"user": ["display_name", "email", "password_hash", "external_id", "language", "sessions"],
            "requests": [r.id for r in requests], "request_fields": ["reason", "decision_comment"],
            "mail_removed": mail}


def _scrub_event(event, person, pseudonym, media_ids, request_ids):
    """The event's detail without the person's name, file names and decision comments; their own events lose
    the address and browser they came from."""
    detail = dict(event.detail or {})
    if person.id in (detail.get("user_id"), detail.get("person_id")):  # staff changes; exports of their data
        detail["name"] = pseudonym
    if "filename" in detail and (event.media_id in media_ids or event.actor_id == person.id):
        detail["filename"] = ERASED_TEXT
    if "comment" in detail and detail.get("cancellation_id") in request_ids:
        detail["comment"] = ERASED_TEXT
    changed = detail != (event.detail or {})
    if changed:
        event.detail = detail
    if event.actor_id == person.id and (event.ip or event.user_agent):
        event.ip, event.user_agent, changed = None, None, True
    return changed


def _scrub_audit(person, pseudonym, media_ids, request_ids):
    shift_ids = db.select(ShiftCancellation.shift_id).where(ShiftCancellation.employee_id == person.id)
    events = db.session.execute(db.select(AuditEvent).where(AuditEvent.owner_id == person.owner_id, sa.or_(
        AuditEvent.actor_id == person.id, AuditEvent.media_id.in_(media_ids) if media_ids else sa.false(),
        AuditEvent.shift_id.in_(shift_ids), AuditEvent.action.like("staff.%"),
        sa.and_(AuditEvent.action == EXPORT, AuditEvent.detail["person_id"].as_integer() == person.id)))
    ).scalars()
    return sum(_scrub_event(event, person, pseudonym, media_ids, request_ids) for event in events)


def _drop_slots(person):
    """Delete the person's upload slots (their file names) and, for the unused ones, the files the browser may
    have posted without ever sending the form; one entry per such key."""
    slots = db.session.execute(db.select(UploadSlot).where(UploadSlot.user_id == person.id)).scalars().all()
    unsent = [media_keys.incoming_key(slot.owner_id, slot.uuid) for slot in slots if slot.claimed_at is None]
    purged = purge(storage(), unsent, []) if unsent else []  # never backed up: incoming/ is not copied
    db.session.execute(db.delete(UploadSlot).where(UploadSlot.user_id == person.id))
    return [{"key": item.key, "versions": len(item.versions), "delete_markers": len(item.delete_markers),
             "left": item.left} for item in purged]


def erase(person, *, actor, source=None):
    """Erase the person (after check_erasable); return the DeletionReport. The caller commits; the files are
    gone at once, so a failed commit is repaired by erasing again."""
    check_erasable(person, actor)
    started, pseudonym = utcnow(), f"erased-{secrets.token_hex(4)}"
    files = purge_rows(media_of(person), reason="erasure", actor=actor, source=source)
    media_ids = {entry["media_id"] for entry in files}
    unsent = _drop_slots(person)
    fields = _scrub_person(person, pseudonym)
    events = _scrub_audit(person, pseudonym, media_ids, set(fields["requests"]))
    report = DeletionReport(owner_id=person.owner_id, kind="erasure", subject_id=person.id, created_by_id=actor.id,
                            created_at=started)
    db.session.add(report)
    db.session.flush()
    report.report = {
        "report_id": report.id, "kind": "erasure", "business_id": person.owner_id,
        "person": {"user_id": person.id, "pseudonym": pseudonym, "role": person.role},
        "requested_by": {"user_id": actor.id, "role": actor.role},
        "started_at": started.isoformat(), "finished_at": utcnow().isoformat(),
        "backup_targets": list(current_app.config.get("BACKUP_TARGETS", [])),
        "files": files, "personal_fields": fields, "audit_events_pseudonymised": events,
        "unsent_uploads": unsent,
        "complete": all(obj["left_in_bucket"] == 0 and all(b["left"] == 0 for b in obj["backups"].values())
                        for entry in files for obj in entry["objects"]) and all(u["left"] == 0 for u in unsent),
    }
    audit.record("privacy.erase", actor=actor, owner_id=person.owner_id, source=source,
                 detail={"user_id": person.id, "name": pseudonym, "report_id": report.id, "files": len(files)})
    return report


CSV_COLUMNS = ["media_id", "cancellation_id", "key", "where", "versions_deleted", "delete_markers_deleted",
               "left", "purged_at"]


def report_csv(report):
    """The report as CSV: one line per key in the bucket and per key on each backup target."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in report["files"]:
        for obj in entry["objects"]:
            base = [entry["media_id"], entry["cancellation_id"], obj["key"]]
            writer.writerow(base + ["bucket", len(obj["versions"]), len(obj["delete_markers"]),
                                    obj["left_in_bucket"], entry["purged_at"]])
            for target, copy in obj["backups"].items():
                writer.writerow(base + [target, copy["versions"], copy["delete_markers"], copy["left"],
                                        entry["purged_at"]])
    return out.getvalue()


def reports_of(owner_id):
    """The business's deletion reports, newest first."""
    return db.session.execute(db.select(DeletionReport).where(DeletionReport.owner_id == owner_id)
                              .order_by(DeletionReport.created_at.desc(), DeletionReport.id.desc())).scalars().all()
