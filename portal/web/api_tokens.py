"""The owner's API tokens page: create one (shown once), list them, revoke one."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .. import api_tokens
from ..auth.guards import roles_required
from ..extensions import db
from ..inputs import Form
from ..models import ApiToken
from .forms import ActionForm
from .request_data import request_source

bp = Blueprint("api_tokens", __name__, url_prefix="/settings/api-tokens")


class TokenForm(Form):
    """A new token's name, so the owner knows later which system holds it."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Name the token, e.g. the app that will use it.")),
                                               Length(max=80)])


def _page(form, new_token=None, status=200):
    response = make_response(render_template(
        "settings/api_tokens.html", form=form, action_form=ActionForm(), new_token=new_token,
        tokens=api_tokens.of_business(current_user.owner_id)), status)
    response.headers["Cache-Control"] = "no-store"  # the page may carry a token that is shown once
    return response


@bp.route("/")
@roles_required("owner")
def index():
    """Every token of the business with its prefix, creator and last use, and the form for a new one."""
    return _page(TokenForm())


@bp.route("/", methods=["POST"])
@roles_required("owner")
def create():
    """Make a token and show it this once; it is stored only as a hash."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    _row, token = api_tokens.issue(current_user.owner_id, form.name.data.strip(), actor=current_user,
                                   source=request_source())
    return _page(TokenForm(formdata=None), new_token=token)


@bp.route("/<id:token_id>/revoke", methods=["POST"])
@roles_required("owner")
def revoke(token_id):
    """Stop one of the business's tokens from working; another business's id answers 404."""
    row = db.session.execute(db.select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.owner_id == current_user.owner_id)).scalar_one_or_none()
    if row is None:
        abort(404)
    if ActionForm().validate_on_submit():
        api_tokens.revoke(row, actor=current_user, source=request_source())
        flash(_("The token is revoked: requests that send it are refused from now on."), "info")
    return redirect(url_for("api_tokens.index"), code=303)
