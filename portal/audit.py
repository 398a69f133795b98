"""record(): the one way an audit event is written. It joins the caller's transaction; the caller commits."""
from dataclasses import dataclass

from .extensions import db
from .models import AuditEvent


@dataclass(frozen=True)
class RequestInfo:
    """Where an action came from, taken from the request by the web layer."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who acted, when only their id and role are at hand (a worker need not load the person to say who)."""

    id: int | None
    role: str | None


def record(action, *, actor, owner_id, source=None, shift_id=None, media_id=None, detail=None):
    """Add an audit event for action by actor to the session (written when the caller commits)."""
    source = source or RequestInfo()
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_role=getattr(actor, "role", None),
        owner_id=owner_id,
        shift_id=shift_id,
        media_id=media_id,
        ip=source.ip,
        user_agent=(source.user_agent or "")[:512] or None,
        detail=detail or {},
    )
    db.session.add(event)
    return event
