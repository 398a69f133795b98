"""Sessions that can be ended: they carry the user's session token, and sign-in starts a new session."""
from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import User


def load_user(session_token):
    """The active user whose current session token this is; an ended session finds nobody. The business's row
    comes in the same query (a manager's pages read its timezone)."""
    user = db.session.execute(db.select(User).filter_by(session_token=session_token)
                              .options(joinedload(User.owner))).scalar_one_or_none()
    return user if user is not None and user.active else None


def sign_in(user, remember=False):
    """Start a new session for the user: nothing of the session before (its CSRF token included) is kept."""
    session.clear()
    login_user(user, remember=remember)


def sign_out(user):
    """End every session and remember cookie of the user, and this browser's session."""
    user.end_sessions()
    db.session.commit()
    session.clear()
    logout_user()  # after clear(): it leaves the note that removes this browser's remember cookie


def sign_out_others(user):
    """End the user's sessions on every other device; this browser gets a new session and stays signed in."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    user.end_sessions()
    db.session.commit()
    sign_in(user, remember=remembered)
