"""The signed-in person's own account: who they are, and ending their sessions on other devices."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.guards import roles_required
from ..auth.sessions import sign_out_others
from .forms import ActionForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/")
@roles_required("owner", "manager", "employee")
def index():
    """Name, email, role and business, with the button that signs out every other device."""
    return render_template("account/index.html", form=ActionForm())


@bp.route("/sign-out-others", methods=["POST"])
@roles_required("owner", "manager", "employee")
def end_other_sessions():
    """End every other session and remember cookie of this user; this browser stays signed in."""
    if ActionForm().validate_on_submit():
        sign_out_others(current_user._get_current_object())  # the user, not the proxy that login_user would keep
        flash(_("Every other device is signed out."), "info")
    return redirect(url_for("account.index"), code=303)
