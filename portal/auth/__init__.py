"""Sign-in, sign-out, forgotten passwords and set-password links, and the role and tenant guards every view uses."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import passwords, routes  # noqa: E402,F401  (routes attach themselves to bp)
