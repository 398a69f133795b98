"""Sign-in and sign-out views."""
import functools
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import User, utcnow
from . import bp
from .forms import LoginForm, LogoutForm
from .sessions import sign_in, sign_out
from .throttle import ThrottleUnavailableError, throttle


@functools.cache
def _dummy_hash():
    """A hash to check against when the email is unknown, so that costs as much time as a wrong password."""
    return generate_password_hash("not-a-password")


def safe_next(target):
    """Only a local path may be a redirect target after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _authenticate(email, password):
    """The active user with this email and password, else None, taking the same time either way."""
    user = db.session.execute(db.select(User).filter_by(email=email.strip().lower())).scalar_one_or_none()
    if user is None or user.password_hash is None:  # unknown, or invited and no password chosen yet
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def _check_password(form):
    """The user if the password is right; a failure is counted, and over the limits nothing is checked (429)."""
    address, email = request.remote_addr, form.email.data.strip().lower()
    try:
        wait = throttle().retry_after(address, email)
        if wait:
            current_app.logger.info("sign-in throttled")
            raise TooManyRequests(retry_after=wait)
        user = _authenticate(email, form.password.data)
        if user is None:
            throttle().failed(address, email)
        return user
    except ThrottleUnavailableError:
        current_app.logger.exception("sign-in counters unavailable")
        abort(503)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a valid POST."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = _check_password(form)
        if user is not None:
            user.last_sign_in_at = utcnow()
            db.session.commit()
            sign_in(user, remember=form.remember.data)
            current_app.logger.info("sign-in user_id=%s", user.id)
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
        current_app.logger.info("sign-in refused")
        form.password.errors.append(_("Wrong email or password, or the account is disabled."))
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out on every device, clear what this browser kept of the pages, and go back to the sign-in page."""
    if not LogoutForm().validate_on_submit():
        return redirect(url_for("auth.login"))
    if current_user.is_authenticated:
        sign_out(current_user)
    flash(_("You are signed out."), "info")
    response = redirect(url_for("auth.login"))
    # Cached pages and htmx's history snapshots in sessionStorage may hold sick-note reasons.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
