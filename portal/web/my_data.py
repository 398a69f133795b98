"""An employee's own data page: the ZIP of everything about them, and who opened their proofs and when."""
from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..auth.guards import roles_required
from ..subject_access import report
from .forms import ActionForm
from .paging import keyset_page

bp = Blueprint("my_data", __name__, url_prefix="/my-data")
PER_PAGE = 50


@bp.route("/")
@roles_required("employee")
def index():
    """The export button and the access report: every view, download, API link and export of the person's
    proofs or data, newest first, 50 a page from a cursor."""
    event, query = report.access_events(current_user)
    page = keyset_page(query.options(selectinload(event.actor)), event.at, event.id, PER_PAGE,
                       row_key=lambda row: (row.at, row.id))
    return render_template("my_data/index.html", page=page, proofs=report.proofs_by_id(page.items),
                           form=ActionForm())
