"""The language switch of every page: saved on the account when signed in, in a cookie before."""
from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, url_for
from flask_login import current_user

from ..accounts import people
from ..auth.routes import safe_next
from ..i18n import LANGUAGE_COOKIE
from .people_forms import LanguageForm
from .request_data import request_source

bp = Blueprint("language", __name__)


@bp.route("/language", methods=["POST"])
def switch():
    """Show pages in the chosen language from now on, and go back to the page the switch was on."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        people.set_language(current_user._get_current_object(), form.language.data, source=request_source())
    response = redirect(safe_next(form.next.data) or url_for("home.index"), code=303)
    response.set_cookie(LANGUAGE_COOKIE, form.language.data, max_age=timedelta(days=365), httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
