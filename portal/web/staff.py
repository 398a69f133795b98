"""The staff page: who works in the business, invitations, deactivation and roles.

The owner does everything here. A manager sees the list and invites employees (and resends their invitations);
only the owner invites managers, deactivates, reactivates and changes roles (docs/people.md).
"""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from .. import quotas
from ..accounts import people
from ..auth.guards import roles_required, tenant_get_or_404
from ..labels import role_label
from ..mail.outbox import pending_counts
from ..models import User
from .htmx import FORM_ERROR
from .request_data import request_source
from .forms import ActionForm
from .people_forms import InviteForm, RoleForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _invite_form():
    form = InviteForm()
    roles = ["employee", "manager"] if current_user.role == "owner" else ["employee"]
    form.role.choices = [SelectChoice(role, str(role_label(role))) for role in roles]
    if not form.is_submitted():
        form.language.data = current_user.language or "ru"
    return form


def _page(form, status=200):
    waiting, failed = pending_counts(current_user.owner_id)
    return render_template("staff/index.html", form=form, people=people.staff_of(current_user.owner_id),
                           action_form=ActionForm(), waiting_mail=waiting, failed_mail=failed), status


@bp.route("/")
@roles_required("owner", "manager")
def index():
    """Everyone of the business with role, status and last sign-in, and the invitation form."""
    return _page(_invite_form())


@bp.route("/invite", methods=["POST"])
@roles_required("owner", "manager")
def invite():
    """Add a person and mail them a set-password link; a bad or taken email keeps the form with a message."""
    form = _invite_form()
    if not form.validate_on_submit():
        return _page(form, FORM_ERROR)
    try:
        quotas.check("invitations", current_user.id)  # each one mails someone: a stolen session is no mail cannon
    except quotas.QuotaExceededError as error:
        form.email.errors.append(_too_many_invitations())
        body, _status = _page(form)
        return body, 429, {"Retry-After": str(error.retry_after)}
    try:
        person = people.invite(name=form.name.data, email=form.email.data, role=form.role.data,
                               language=form.language.data, actor=current_user, source=request_source())
    except people.InvalidEmailError:
        form.email.errors.append(_("This is not an email address."))
        return _page(form, FORM_ERROR)
    except people.EmailTakenError:
        form.email.errors.append(_("Someone already has an account with this email."))
        return _page(form, FORM_ERROR)
    quotas.count("invitations", current_user.id)  # counted once the mail is queued
    flash(_("%(name)s is invited: the link to choose a password is on its way to %(email)s.",
            name=person.display_name, email=person.email), "info")
    return redirect(url_for("staff.index"), code=303)


def _act(user_id, action, *args, done):
    """Run a workflow action on a person of this business; refusals come back as a message, not a change."""
    person = tenant_get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action(person, *args, actor=current_user, source=request_source())
    except people.NotAllowedError:
        abort(403)
    except people.StateError:
        flash(_("Nothing changed: %(name)s is not in a state for this.", name=person.display_name), "error")
        return redirect(url_for("staff.index"), code=303)
    except quotas.QuotaExceededError:
        flash(_too_many_invitations(), "error")
        return redirect(url_for("staff.index"), code=303)
    flash(done % {"name": person.display_name}, "info")
    return redirect(url_for("staff.index"), code=303)


@bp.route("/<id:user_id>/resend", methods=["POST"])
@roles_required("owner", "manager")
def resend(user_id):
    """Mail a new invitation link to someone who has not chosen a password yet."""
    return _act(user_id, _resend_within_quota, done=_("A new invitation link is on its way to %(name)s."))


def _resend_within_quota(person, *, actor, source):
    quotas.check("invitation-resends", person.id)  # one inbox is not filled with links
    quotas.check("invitations", actor.id)
    people.resend_invitation(person, actor=actor, source=source)  # refused resends count nothing
    quotas.count("invitation-resends", person.id)
    quotas.count("invitations", actor.id)


def _too_many_invitations():
    return _("Too many invitations sent in a short time. Try again later.")


@bp.route("/<id:user_id>/deactivate", methods=["POST"])
@roles_required("owner")
def deactivate(user_id):
    """Stop a person's sign-ins and end their sessions; their history stays."""
    return _act(user_id, people.deactivate, done=_("%(name)s can no longer sign in."))


@bp.route("/<id:user_id>/reactivate", methods=["POST"])
@roles_required("owner")
def reactivate(user_id):
    """Let a deactivated person sign in again."""
    return _act(user_id, people.reactivate, done=_("%(name)s can sign in again."))


@bp.route("/<id:user_id>/role", methods=["POST"])
@roles_required("owner")
def change_role(user_id):
    """Make an employee a manager, or a manager an employee."""
    form = RoleForm()
    if not form.validate_on_submit():
        tenant_get_or_404(User, user_id)
        abort(400)
    return _act(user_id, people.change_role, form.role.data, done=_("%(name)s has a new role."))
