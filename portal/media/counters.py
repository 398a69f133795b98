"""Per-business storage counters: changed in the same transaction as the media row that makes a file live
(ready, restored) or not (deleted), so storage figures are read, never recomputed from every row."""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import BusinessStorage, MediaObject

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
OBJECTS_PER_FILE = 2  # the file and its thumbnail: every stored file has one (verify --fix makes a missing one)


def count(rows, sign=1):
    """Add (sign=1) or take away (sign=-1) the files of rows from their businesses' counters; the caller
    commits. One atomic upsert per business: two uploads at once both count."""
    totals = {}
    for row in rows:
        objects, size = totals.get(row.owner_id, (0, 0))
        totals[row.owner_id] = (objects + sign * OBJECTS_PER_FILE, size + sign * row.stored_bytes)
    for owner_id, (objects, size) in totals.items():
        add(BusinessStorage, {"owner_id": owner_id}, {"objects": objects, "bytes": size})


def add(model, keys, amounts):
    """Add amounts to model's row at keys, inserting it when missing, in one atomic statement (the caller
    commits): two transactions at once both count, neither overwrites the other."""
    insert = _INSERTS[db.session.get_bind().dialect.name]
    db.session.execute(insert(model).values(**keys, **amounts).on_conflict_do_update(
        index_elements=[getattr(model, key) for key in keys],
        set_={name: getattr(model, name) + amount for name, amount in amounts.items()}))


def from_rows(owner_id=None):
    """What the live rows add up to, per business: {owner_id: (objects, bytes)} (the covering index answers)."""
    stored = MediaObject.size + sa.func.coalesce(MediaObject.thumbnail_size, 0)
    query = (db.select(MediaObject.owner_id, sa.func.count(), sa.func.coalesce(sa.func.sum(stored), 0))
             .where(MediaObject.live()).group_by(MediaObject.owner_id))
    if owner_id is not None:
        query = query.where(MediaObject.owner_id == owner_id)
    return {oid: (files * OBJECTS_PER_FILE, int(size)) for oid, files, size in db.session.execute(query)}


def kept(owner_id=None):
    """The counters as kept: {owner_id: (objects, bytes)}."""
    query = db.select(BusinessStorage.owner_id, BusinessStorage.objects, BusinessStorage.bytes)
    if owner_id is not None:
        query = query.where(BusinessStorage.owner_id == owner_id)
    return {oid: (objects, size) for oid, objects, size in db.session.execute(query)}


def mismatches():
    """Businesses whose counters differ from their rows: {owner_id: (kept, from rows)}."""
    have, truth = kept(), from_rows()
    return {oid: (have.get(oid, (0, 0)), truth.get(oid, (0, 0)))
            for oid in sorted(set(have) | set(truth)) if have.get(oid, (0, 0)) != truth.get(oid, (0, 0))}


def reset(owner_id):
    """Set one business's counters to what its rows add up to, under a lock on them; the caller commits."""
    db.session.execute(db.select(BusinessStorage).where(BusinessStorage.owner_id == owner_id).with_for_update())
    objects, size = from_rows(owner_id).get(owner_id, (0, 0))
    insert = _INSERTS[db.session.get_bind().dialect.name]
    db.session.execute(insert(BusinessStorage).values(owner_id=owner_id, objects=objects, bytes=size)
                       .on_conflict_do_update(index_elements=[BusinessStorage.owner_id],
                                              set_={"objects": objects, "bytes": size}))
