"""Who opened a person's proofs, from the audit log: views, downloads, links handed to the API, and exports of
all their data. Only events about this person's own files and data are read."""
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import AuditEvent, MediaObject, ShiftCancellation
from .export import ACTION as EXPORT, requests_of

FILE_ACTIONS = ("media.view", "media.download")


def access_events(person):
    """(the event entity, a query of it): the events that read this person's proofs or data, for a keyset page.

    One branch per kind of access, each read through its own index (the proof's, the shift's, the business's
    exports), so a page costs what the person's own events cost, however long the business's log is."""
    requests = requests_of(person)
    media_ids = db.select(MediaObject.id).where(
        MediaObject.owner_id == person.owner_id, MediaObject.context == "shift_cancellation",
        MediaObject.subject_id.in_(requests.with_only_columns(ShiftCancellation.id)))
    in_business = AuditEvent.owner_id == person.owner_id
    branches = sa.union_all(
        db.select(AuditEvent).where(in_business, AuditEvent.media_id.in_(media_ids),
                                    AuditEvent.action.in_(FILE_ACTIONS)),
        # the API's links are per shift: every proof of the shift's requests was reachable
        db.select(AuditEvent).where(in_business, AuditEvent.action == "media.api_links",
                                    AuditEvent.shift_id.in_(requests.with_only_columns(ShiftCancellation.shift_id))),
        db.select(AuditEvent).where(in_business, AuditEvent.action == EXPORT,
                                    AuditEvent.detail["person_id"].as_integer() == person.id),
    ).subquery("access")
    event = aliased(AuditEvent, branches)
    return event, db.select(event)


def proofs_by_id(events):
    """The media rows the events name, by id (removed ones too: their history stays readable)."""
    ids = {e.media_id for e in events if e.media_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(db.select(MediaObject).where(MediaObject.id.in_(ids))).scalars()
    return {row.id: row for row in rows}
