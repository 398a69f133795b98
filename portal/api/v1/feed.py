"""GET /api/v1/cancellations: submitted requests changed since a moment, oldest change first, a page at a time.

The cursor is the (updated_at, id) of the last row sent, so a page costs one index range scan whatever the
feed's length. Proof links are those of the media API: presigned, with their expiry, audited as media.api_links."""
import base64
import binascii
import json
from datetime import datetime

import sqlalchemy as sa
from flask import g, jsonify, request
from sqlalchemy.orm import joinedload, selectinload

from ... import audit
from ...extensions import db
from ...inputs import MAX_ID
from ...media import orchestrator
from ...media.storage import StorageError
from ...models import ShiftCancellation
from ...web.request_data import request_source
from . import ApiError, bp, invalid
from .bodies import iso, moment

DEFAULT_LIMIT, MAX_LIMIT = 50, 100


def _cursor(row):
    raw = json.dumps([row.updated_at.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor):
    """(updated_at, id) from a cursor this API wrote; 422 for anything else."""
    try:
        text, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(text)
        if at.tzinfo is None or not isinstance(last_id, int) or not 1 <= last_id <= MAX_ID:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise invalid({"cursor": "Pass back the `next` value of the previous page unchanged."}) from None
    return at, last_id


def _limit():
    text = request.args.get("limit", str(DEFAULT_LIMIT))
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_LIMIT):
        raise invalid({"limit": f"A whole number from 1 to {MAX_LIMIT}."})
    return int(text)


def _proof(links, media, viewer):
    thumb = links.generate_presigned_url(media, viewer, purpose="thumbnail")
    down = links.generate_presigned_url(media, viewer, purpose="download")
    return {"id": media.id, "content_type": media.content_type, "size": media.size,
            "original_filename": media.original_filename, "uploaded_at": iso(media.uploaded_at),
            "thumbnail_url": thumb.url, "thumbnail_expires_at": iso(thumb.expires_at),
            "download_url": down.url, "download_expires_at": iso(down.expires_at)}


def _item(links, row, viewer):
    return {"id": row.id, "status": row.status, "reason": row.reason,
            "shift": {"id": row.shift.id, "external_id": row.shift.external_id},
            "employee": {"id": row.employee.id, "external_id": row.employee.external_id,
                         "email": row.employee.email},
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
            "decided_at": iso(row.decided_at), "decision_comment": row.decision_comment,
            "proofs": [_proof(links, media, viewer) for media in row.proofs]}


def _page(owner_id, since, after, limit):
    query = (db.select(ShiftCancellation)
             .where(ShiftCancellation.owner_id == owner_id, ShiftCancellation.submitted_at.is_not(None))
             .options(joinedload(ShiftCancellation.shift), joinedload(ShiftCancellation.employee),
                      selectinload(ShiftCancellation.proofs))
             .order_by(ShiftCancellation.updated_at, ShiftCancellation.id).limit(limit + 1))
    if since is not None:
        query = query.where(ShiftCancellation.updated_at >= since)
    if after is not None:
        query = query.where(sa.tuple_(ShiftCancellation.updated_at, ShiftCancellation.id) > after)
    return db.session.execute(query).scalars().all()


@bp.route("/cancellations")
def cancellations():
    """One page of the business's cancellation requests changed since `updated_since` (or after `cursor`)."""
    since = request.args.get("updated_since")
    since = moment(since, "updated_since") if since is not None else None
    cursor = request.args.get("cursor")
    after = _after(cursor) if cursor is not None else None
    limit = _limit()
    token = g.api_token
    rows = _page(token.owner_id, since, after, limit)
    more, rows = len(rows) > limit, rows[:limit]
    try:
        links = orchestrator()
        items = [_item(links, row, token.created_by) for row in rows]
    except StorageError:
        raise ApiError(503, "storage_unavailable", "The file store is not available right now.") from None
    response = jsonify({"cancellations": items, "next": _cursor(rows[-1]) if more else None})
    media_ids = [proof["id"] for item in items for proof in item["proofs"]]
    if media_ids:
        audit.record("media.api_links", actor=token.created_by, owner_id=token.owner_id, source=request_source(),
                     detail={"media_ids": media_ids, "api_token": token.prefix})
    db.session.commit()
    return response
