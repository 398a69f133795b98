"""One person's requests, the decisions on them and their proofs as a ZIP, written while it is sent.

The standard library's zipfile writes to an unseekable sink (sizes and CRCs go into data descriptors after each
entry), and each proof is copied from the storage interface CHUNK bytes at a time, so memory stays at a few
chunks whatever the number or size of the files. The index (JSON and CSV) comes last: it carries the SHA-256 of
the bytes actually written, computed on the way."""
import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.orm import selectinload

from .. import audit
from ..csv_cells import safe_cell
from ..extensions import db
from ..media.disposition import download_name
from ..media.storage import ObjectNotFoundError
from ..models import MediaObject, ShiftCancellation, utcnow
from .names import entry_name, unique_names

ACTION = "person.export"
CHUNK = 256 * 1024
FORMAT = "shift-proof-portal person export 1"
EPOCH = datetime(1980, 1, 2, tzinfo=timezone.utc)
CSV_HEADER = ["request_id", "shift_id", "shift_title", "shift_starts_at", "shift_ends_at", "request_status",
              "reason", "requested_at", "submitted_at", "decided_by", "decided_at", "decision_comment", "file_state",
              "file_path", "original_filename", "content_type", "size", "sha256", "uploaded_at", "removed_at"]


class _Sink:
    """The unseekable file zipfile writes to: it keeps what was written until the next drain()."""

    def __init__(self):
        self._parts = []

    def write(self, data):
        self._parts.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def drain(self):
        """Everything written since the last call, as one bytes object."""
        data, self._parts = b"".join(self._parts), []
        return data


@dataclass(frozen=True)
class Entry:
    """One stored proof to copy into the ZIP, and its line in the index (where its hash goes)."""

    path: str
    storage_key: str
    size: int
    moment: datetime
    listed: dict


@dataclass
class PersonExport:
    """What one export holds, read from the database before the first byte is sent and kept as plain data, so
    the commit of the audit event and the end of the request's session change nothing of it."""

    person_id: int
    index: dict
    entries: list = field(default_factory=list)

    @property
    def filename(self):
        """The ZIP's download name: the person's id and the day, not their name (it may be anything)."""
        return f"personal-data-{self.person_id}-{utcnow():%Y-%m-%d}.zip"


def collect(person, *, exported_by):
    """The person's requests (every state, withdrawn ones included) with every upload of each: stored files go
    into the ZIP, removed, refused and unfinished ones are listed with their state."""
    requests = db.session.execute(
        requests_of(person).order_by(ShiftCancellation.created_at, ShiftCancellation.id)
        .options(selectinload(ShiftCancellation.shift), selectinload(ShiftCancellation.decided_by))
    ).scalars().all()
    uploads = {r.id: [] for r in requests}
    for media in db.session.execute(
        db.select(MediaObject).where(MediaObject.owner_id == person.owner_id,
                                     MediaObject.context == "shift_cancellation", MediaObject.status != "pending",
                                     MediaObject.subject_id.in_(requests_of(person).with_only_columns(
                                         ShiftCancellation.id)))
        .order_by(MediaObject.created_at, MediaObject.id)
    ).scalars():
        uploads[media.subject_id].append(media)
    export = PersonExport(person_id=person.id, index=_head(person, exported_by))
    export.index["requests"] = [_request(r, uploads[r.id], export.entries) for r in requests]
    return export


def requests_of(person):
    """A query of the person's requests in their business."""
    return db.select(ShiftCancellation).where(ShiftCancellation.owner_id == person.owner_id,
                                              ShiftCancellation.employee_id == person.id)


def record(export, *, actor, source=None):
    """Audit who exported whose data, with how many files and bytes (joins the caller's transaction)."""
    person = export.index["person"]
    return audit.record(ACTION, actor=actor, owner_id=actor.owner_id, source=source,
                        detail={"person_id": person["id"], "name": person["name"],
                                "requests": len(export.index["requests"]), "files": len(export.entries),
                                "bytes": sum(e.size for e in export.entries)})


def chunks(export, storage):
    """The ZIP, piece by piece: each proof as it is read from the store, then index.json and index.csv."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in export.entries:
            try:
                entry.listed["sha256"] = yield from _copy(archive, sink, storage, entry)
            except ObjectNotFoundError:  # gone from the store behind the app's back: say so, send the rest
                entry.listed.update(state="missing", path=None, size=None)
        written = utcnow()
        archive.writestr(_info("index.json", written, zipfile.ZIP_DEFLATED),
                         json.dumps(export.index, ensure_ascii=False, indent=1))
        archive.writestr(_info("index.csv", written, zipfile.ZIP_DEFLATED), _csv(export.index))
    yield sink.drain()


def _info(name, moment, compression):
    # ZIP keeps local times from 1980 on; UTC is written, as the index says
    info = zipfile.ZipInfo(name, date_time=max(moment, EPOCH).astimezone(timezone.utc).timetuple()[:6])
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


def _copy(archive, sink, storage, entry):
    """Copy one proof from the store into the archive a chunk at a time, yielding the ZIP's bytes as they come;
    returns the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    info = _info(entry.path, entry.moment, zipfile.ZIP_STORED)
    info.file_size = entry.size  # zipfile decides from it whether the entry needs ZIP64 fields
    body = storage.open(entry.storage_key)  # before the entry is begun: a missing object leaves no trace
    try:
        with archive.open(info, "w") as member:
            while data := body.read(CHUNK):
                digest.update(data)
                member.write(data)
                yield sink.drain()
    finally:
        body.close()
    return digest.hexdigest()


def _when(moment):
    return moment.isoformat() if moment else None


def _head(person, exported_by):
    return {
        "format": FORMAT, "exported_at": _when(utcnow()), "times": "UTC, ISO 8601",
        "exported_by": {"name": exported_by.display_name, "role": exported_by.role},
        "person": {"id": person.id, "name": person.display_name, "email": person.email, "role": person.role,
                   "language": person.language, "business": person.business.business_name,
                   "created_at": _when(person.created_at)},
    }


def _request(request, uploads, entries):
    """One request in the index; its stored files are added to entries under the request's folder."""
    shift = request.shift
    folder = f"requests/{request.id:06d}-{request.created_at:%Y-%m-%d}"
    stored = [m for m in uploads if m.status == "ready" and m.deleted_at is None]
    names = dict(zip((m.id for m in stored),
                     unique_names([entry_name(download_name(m.original_filename, m.content_type)) for m in stored])))
    files = []
    for media in uploads:
        listed = _file(media, f"{folder}/{names[media.id]}" if media.id in names else None)
        if media.id in names:
            entries.append(Entry(path=listed["path"], storage_key=media.storage_key, size=media.size,
                                 moment=media.uploaded_at or media.created_at, listed=listed))
        files.append(listed)
    return {
        "id": request.id, "status": request.status, "reason": request.reason,
        "requested_at": _when(request.created_at), "submitted_at": _when(request.submitted_at),
        "shift": {"id": shift.id, "title": shift.title, "starts_at": _when(shift.starts_at),
                  "ends_at": _when(shift.ends_at), "status": shift.status},
        "decision": None if request.decided_at is None else {
            "by": request.decided_by.display_name if request.decided_by else None,
            "by_role": request.decided_by.role if request.decided_by else None,
            "at": _when(request.decided_at), "comment": request.decision_comment},
        "files": files,
    }


def _file(media, path):
    """One upload: included (with its path; its hash is added as it is copied), or why it is not in the ZIP."""
    if path:
        state = "included"
    elif media.deleted_at is not None:
        state = "removed"
    else:
        state = media.status  # refused, or still processing
    return {"state": state, "path": path, "original_filename": media.original_filename,
            "content_type": media.content_type, "size": media.size if path else None, "sha256": None,
            "uploaded_at": _when(media.uploaded_at or media.created_at), "removed_at": _when(media.deleted_at),
            "refusal": media.refusal_message}


def _csv(index):
    """The index as CSV (UTF-8 with a BOM, every cell quoted and safe from spreadsheet formulas): one row per
    file, a request without files on a row of its own."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for request in index["requests"]:
        shift, decision = request["shift"], request["decision"] or {}
        head = [request["id"], shift["id"], shift["title"], shift["starts_at"], shift["ends_at"], request["status"],
                request["reason"], request["requested_at"], request["submitted_at"], decision.get("by"),
                decision.get("at"), decision.get("comment")]
        for item in request["files"] or [{}]:
            tail = [item.get(k) for k in ("state", "path", "original_filename", "content_type", "size", "sha256",
                                          "uploaded_at", "removed_at")]
            writer.writerow([safe_cell(value) for value in head + tail])
    return buffer.getvalue()
