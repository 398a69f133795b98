"""Sign-in, sign-out, and the role and tenant guards every view uses."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
