"""Set-password links: signed (itsdangerous), expiring, and single-use because each is bound to the person's
current password hash and session token, which setting a password (or a newer link, or deactivation) changes."""
import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..extensions import db
from ..links import absolute_url
from ..models import User

PURPOSES = ("invitation", "reset")
MAX_TOKEN_LENGTH = 400


class LinkError(Exception):
    """A set-password link that cannot be used; the subclass says why."""


class LinkExpiredError(LinkError):
    """The link is older than its lifetime."""


class LinkUsedError(LinkError):
    """The link was used already, or a newer one replaced it, or the account was deactivated."""


class LinkInvalidError(LinkError):
    """The link was changed, cut short, or made with another key or for another purpose."""


def _serializer(purpose):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"set-password/{purpose}")


def lifetime(purpose):
    """How long a link of this purpose works."""
    if purpose == "invitation":
        return timedelta(days=current_app.config["INVITATION_LINK_DAYS"])
    return timedelta(minutes=current_app.config["PASSWORD_RESET_LINK_MINUTES"])


def _fingerprint(user):
    """Changes whenever the password, the session token or the email does (a link mailed to an address the person
    no longer uses must stop working); the link carries it, never the secrets."""
    state = f"{user.password_hash or ''}\n{user.session_token}\n{user.email}".encode()
    return hashlib.sha256(state).hexdigest()[:32]


def make_token(user, purpose):
    """A signed token for user and purpose."""
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user)})


def make_link(user, purpose):
    """The absolute set-password link for user and purpose."""
    return absolute_url("auth.set_password", token=make_token(user, purpose), purpose=purpose)


def read_token(token, purpose):
    """The user a token was made for, if it still works; LinkError otherwise."""
    if purpose not in PURPOSES or not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkInvalidError(token)
    try:
        payload = _serializer(purpose).loads(token, max_age=int(lifetime(purpose).total_seconds()))
    except SignatureExpired:
        raise LinkExpiredError(token) from None
    except BadSignature:
        raise LinkInvalidError(token) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int) or not isinstance(payload.get("f"), str):
        raise LinkInvalidError(token)
    user = db.session.get(User, payload["u"])
    if user is None or not user.active or not hmac.compare_digest(_fingerprint(user), payload["f"]):
        raise LinkUsedError(token)
    return user
