"""Keyset pagination: a page starts from a cursor (a row's time and id), so page 5,000 costs what page 1
costs, and no page counts the whole tenant. A malformed cursor is a 400 with a message, never a 500."""
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _

from ..error_pages import BadInputError
from ..extensions import db

CURSOR = re.compile(r"(\d{8}T\d{12})_(\d{1,18})")
COUNT_CAP = 1000  # beyond this the page says "more than 1,000" instead of counting on


@dataclass
class Page:
    """The rows of one page, newest first, and the cursors of its neighbours (None where there is none)."""

    items: list
    newer: str | None = None
    older: str | None = None
    from_cursor: bool = False  # not the first page: offer a way back to the newest
    total: int = 0
    total_capped: bool = False
    extra: dict = field(default_factory=dict)


def encode(moment, row_id):
    """A row's cursor: its UTC time to the microsecond and its id, `20261126T101500123456_42`."""
    return f"{moment.astimezone(timezone.utc):%Y%m%dT%H%M%S%f}_{row_id}"


def decode(text):
    """(time, id) from a cursor; BadInputError (400) for anything else."""
    match = CURSOR.fullmatch(text or "")
    try:
        if not match:
            raise ValueError(text)
        moment = datetime.strptime(match[1], "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)
    except ValueError:
        raise BadInputError(_("This page link is broken. Start again from the first page.")) from None
    return moment, int(match[2])


def cursor_args():
    """The request's cursor: ("before" | "after" | None, (time, id) | None)."""
    before, after = request.args.get("before"), request.args.get("after")
    if before is not None and after is not None:
        raise BadInputError(_("This page link is broken. Start again from the first page."))
    if before is not None:
        return "before", decode(before)
    if after is not None:
        return "after", decode(after)
    return None, None


def keyset_page(query, time_column, id_column, per_page, row_key=lambda row: row):
    """One page of `query` (newest first by time, then id) from the request's cursor, with its neighbours."""
    direction, cursor = cursor_args()
    position = sa.tuple_(time_column, id_column)
    if direction == "after":  # the page just newer than the cursor: read upwards, then turn it round
        query = query.where(position > sa.tuple_(*cursor)).order_by(time_column.asc(), id_column.asc())
    else:
        if direction == "before":
            query = query.where(position < sa.tuple_(*cursor))
        query = query.order_by(time_column.desc(), id_column.desc())
    rows = db.session.execute(query.limit(per_page + 1)).scalars().all()
    more, rows = len(rows) > per_page, rows[:per_page]
    if direction == "after":
        rows.reverse()
    page = Page(items=rows, from_cursor=direction is not None)
    if rows:
        first, last = row_key(rows[0]), row_key(rows[-1])
        newer_exists = more if direction == "after" else direction == "before"
        older_exists = True if direction == "after" else more
        page.newer = encode(*first) if newer_exists else None
        page.older = encode(*last) if older_exists else None
    return page


def capped_count(query, cap=None):
    """How many rows match, counting at most cap + 1 of them: (count, True when there are more than cap)."""
    cap = cap or COUNT_CAP
    counted = db.session.execute(
        db.select(sa.func.count()).select_from(query.order_by(None).limit(cap + 1).subquery())).scalar()
    return min(counted, cap), counted > cap
