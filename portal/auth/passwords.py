"""Passwords without the old one: "forgot password", and the set-password pages the mailed links open."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from ..accounts import links, people
from ..mail import after_response
from ..web.htmx import FORM_ERROR
from ..web.request_data import request_source
from ..web.people_forms import ForgotPasswordForm, SetPasswordForm
from . import bp
from .sessions import sign_in
from .throttle import ThrottleUnavailableError, reset_throttle


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """Mail a set-password link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot.html", form=form), (FORM_ERROR if form.is_submitted() else 200)
    address, email = request.remote_addr, form.email.data.strip().lower()
    try:
        wait = reset_throttle().retry_after(address, email)
        if wait:
            raise TooManyRequests(retry_after=wait)
        reset_throttle().failed(address, email)  # every request counts: each one may send a mail
    except ThrottleUnavailableError:
        current_app.logger.exception("password reset counters unavailable")
        abort(503)
    source = request_source()
    # after the response: whether the address has an account (a lookup, two mail templates, an audit row and a
    # commit, or nothing) must not show in how long the answer takes
    after_response(lambda: people.request_password_reset(email, source=source))
    flash(_("If an account uses this address, a link to set a new password is on its way. It works for "
            "%(minutes)s minutes.", minutes=current_app.config["PASSWORD_RESET_LINK_MINUTES"]), "info")
    return redirect(url_for("auth.login"), code=303)


LINK_MESSAGES = {
    links.LinkExpiredError: (410, "expired"),
    links.LinkUsedError: (410, "used"),
    links.LinkInvalidError: (400, "invalid"),
}


def _link_problem(error, purpose):
    status, reason = LINK_MESSAGES[type(error)]
    messages = {
        "expired": _("This link has expired."),
        "used": _("This link was used already, or a newer one was sent; only the newest link works, once."),
        "invalid": _("This link is incomplete or was changed. Open it from the email again, whole."),
    }
    return render_template("auth/link_problem.html", message=messages[reason], purpose=purpose), status


@bp.route("/invitation/<token>", methods=["GET", "POST"], defaults={"purpose": "invitation"})
@bp.route("/reset-password/<token>", methods=["GET", "POST"], defaults={"purpose": "reset"})
def set_password(token, purpose):
    """Choose a password from a mailed link (invitation or reset); then the person is signed in."""
    try:
        person = links.read_token(token, purpose)
    except links.LinkError as error:
        return _link_problem(error, purpose)
    if current_user.is_authenticated and current_user.id != person.id:
        return render_template("auth/link_problem.html", purpose=purpose, other_account=True,
                               message=_("This link is for another account. Sign out first, then open it again.")), 409
    form = SetPasswordForm()
    if not form.validate_on_submit():
        status = FORM_ERROR if form.is_submitted() else 200
        return render_template("auth/set_password.html", form=form, person=person, purpose=purpose,
                               min_password_length=people.MIN_PASSWORD_LENGTH), status
    try:
        people.set_password_from_link(person, form.new_password.data, source=request_source())
    except links.LinkUsedError as error:
        return _link_problem(error, purpose)
    sign_in(person)
    current_app.logger.info("password set from link user_id=%s", person.id)
    flash(_("Your password is set. Welcome!"), "info")
    return redirect(url_for("home.index"), code=303)
