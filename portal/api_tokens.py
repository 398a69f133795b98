"""API tokens of a business: issue one (shown once), revoke it, find the live token a request presents.

Only a SHA-256 of each token is stored: the token is 256 random bits, so a fast hash is enough, and a lookup
by hash needs no constant-time comparison."""
import hashlib
import secrets
from datetime import timedelta

from . import audit
from .extensions import db
from .models import ApiToken, utcnow

SCHEME = "spp_"  # says what the string is when it turns up in a log or a secret scanner
VISIBLE = 12  # characters of the token kept in clear, so the owner can tell tokens apart
MAX_LENGTH = 100  # anything longer is not one of ours; refused before hashing
USE_GRANULARITY = timedelta(minutes=1)  # last_used_at is written at most once a minute per token


def _digest(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(owner_id, name, *, actor, source=None):
    """Create a token for the business; (row, the token itself), which is never stored and shown once."""
    token = SCHEME + secrets.token_urlsafe(32)
    row = ApiToken(owner_id=owner_id, name=name, prefix=token[:VISIBLE], token_hash=_digest(token),
                   created_by_id=actor.id, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record("api_token.create", actor=actor, owner_id=owner_id, source=source,
                 detail={"token_id": row.id, "name": name, "prefix": row.prefix})
    db.session.commit()
    return row, token


def revoke(row, *, actor, source=None):
    """Stop the token from working at once; revoking twice changes nothing."""
    changed = db.session.execute(
        db.update(ApiToken).where(ApiToken.id == row.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session="fetch")).rowcount
    if changed:
        audit.record("api_token.revoke", actor=actor, owner_id=row.owner_id, source=source,
                     detail={"token_id": row.id, "name": row.name, "prefix": row.prefix})
    db.session.commit()


def of_business(owner_id):
    """Every token of the business, live ones first, newest first."""
    return db.session.execute(
        db.select(ApiToken).where(ApiToken.owner_id == owner_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    ).scalars().all()


def live_token(presented):
    """The unrevoked token row the string is, or None; notes its use (at most once a minute)."""
    if not presented or len(presented) > MAX_LENGTH or not presented.startswith(SCHEME):
        return None
    row = db.session.execute(db.select(ApiToken).where(
        ApiToken.token_hash == _digest(presented), ApiToken.revoked_at.is_(None))).scalar_one_or_none()
    if row is not None and (row.last_used_at is None or utcnow() - row.last_used_at > USE_GRANULARITY):
        row.last_used_at = utcnow()
        db.session.commit()
    return row
