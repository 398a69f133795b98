"""Role and tenant guards: a wrong role is 403, another tenant's object is 404 like a missing one."""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from ..extensions import db


def roles_required(*roles):
    """Let a signed-in user with one of these roles in; send others to sign-in (anonymous) or 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def tenant_get_or_404(model, object_id, *, employee_field=None):
    """Fetch a row of the current user's business; 404 if missing, foreign, or (for an employee) not theirs."""
    query = db.select(model).where(model.id == object_id, model.owner_id == current_user.owner_id)
    if employee_field is not None and current_user.role == "employee":
        query = query.where(getattr(model, employee_field) == current_user.id)
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        abort(404)
    return row
