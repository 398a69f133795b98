"""The signed-in person's own account: profile, password, and ending their sessions on other devices."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from ..accounts import people
from ..auth.guards import roles_required
from ..auth.sessions import sign_in, sign_out_others
from ..auth.throttle import ThrottleUnavailableError, throttle
from .htmx import FORM_ERROR
from .request_data import request_source
from .forms import ActionForm
from .people_forms import PasswordChangeForm, ProfileForm

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(profile=None, password=None, status=200):
    if profile is None:
        profile = ProfileForm(formdata=None, name=current_user.display_name,
                              language=current_user.language or "ru",
                              email_notifications=current_user.email_notifications)
    return render_template("account/index.html", form=ActionForm(), profile=profile,
                           password=password or PasswordChangeForm(formdata=None)), status


@bp.route("/")
@roles_required("owner", "manager", "employee")
def index():
    """Name, email, role and business; the profile and password forms; the button that signs out other devices."""
    return _page()


@bp.route("/profile", methods=["POST"])
@roles_required("owner", "manager", "employee")
def profile():
    """Save the person's name, language and mail notifications."""
    form = ProfileForm()
    if not form.validate_on_submit():
        return _page(profile=form, status=FORM_ERROR)
    people.update_profile(current_user, name=form.name.data, language=form.language.data,
                          email_notifications=form.email_notifications.data, source=request_source())
    flash(_("Your profile is saved."), "info")
    return redirect(url_for("account.index"), code=303)


def _current_password_ok(password):
    """Check the current password like a sign-in: failures count against the same limits (a stolen session
    cannot guess at it), and over the limits nothing is checked (429)."""
    address, email = request.remote_addr, current_user.email
    try:
        wait = throttle().retry_after(address, email)
        if wait:
            raise TooManyRequests(retry_after=wait)
        if current_user.check_password(password):
            return True
        throttle().failed(address, email)
        return False
    except ThrottleUnavailableError:
        current_app.logger.exception("sign-in counters unavailable")
        abort(503)


@bp.route("/password", methods=["POST"])
@roles_required("owner", "manager", "employee")
def password():
    """Change the password (the current one is asked for); every other session ends, this one goes on."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(password=form, status=FORM_ERROR)
    if not _current_password_ok(form.current_password.data):
        form.current_password.errors.append(_("This is not your current password."))
        return _page(password=form, status=FORM_ERROR)
    user = current_user._get_current_object()
    people.change_password(user, form.new_password.data, source=request_source())
    sign_in(user, remember=current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies)
    flash(_("Your password is changed. Every other device is signed out."), "info")
    return redirect(url_for("account.index"), code=303)


@bp.route("/sign-out-others", methods=["POST"])
@roles_required("owner", "manager", "employee")
def end_other_sessions():
    """End every other session and remember cookie of this user; this browser stays signed in."""
    if ActionForm().validate_on_submit():
        sign_out_others(current_user._get_current_object())  # the user, not the proxy that login_user would keep
        flash(_("Every other device is signed out."), "info")
    return redirect(url_for("account.index"), code=303)
