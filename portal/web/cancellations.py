"""The shared cancellations page: employees request and manage; owners and managers review and decide."""
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .. import jobs, metrics, quotas, uploads
from .. import cancellations as workflow
from ..auth.guards import roles_required, tenant_get_or_404
from ..inputs import MAX_ID
from ..extensions import db
from ..error_pages import BadInputError
from ..media import daily, orchestrator
from ..media.orchestrator import SlotError, Upload
from ..media.storage import StorageError
from ..media.validation import ValidationError, clean_display_name
from ..models import Shift, ShiftCancellation
from .htmx import FORM_ERROR, is_htmx, render_block, render_macro
from .request_data import request_source, uploaded_files
from .cancellation_queries import filtered_cancellations, filter_form, my_cancellations
from .forms import ActionForm, CancellationForm, DecisionForm

bp = Blueprint("cancellations", __name__, url_prefix="/cancellations")


def _store_down():
    return _("The file store is not available right now; nothing was saved. Please try again in a minute.")


def _queue_down():
    return _("Uploads are paused for a moment; nothing was saved. Please try again in a minute.")


def _retry_later(answer, error):
    """The page or card of answer (body, status), as 429 with Retry-After: the form keeps what was typed."""
    response = make_response(answer[0], 429)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _own_request():
    return _("This is your own request: another manager or the owner decides it.")


def _already_decided():
    return _("This request has already been decided or withdrawn.")


def _slot_used():
    return _("An upload is not yours, was already used or has expired. Choose the file again.")


def _room_message(room):
    if room == 0:
        return _("This request already has the most files allowed (%(n)s).", n=current_app.config["MEDIA_MAX_FILES"])
    return _("This request can take %(n)s more files.", n=room)


def _check_files(files, cancellation=None):
    """Validate every upload, and look at every file posted straight to the store (named by its slot); return
    the good ones and (file name, message) for each refused one.

    The room left on an existing request is counted by the workflow, under the request's lock while the store's
    transfer runs, so the transfer does not wait for the count (ProofLimitError when the files do not fit)."""
    slots = request.form.getlist("slots") if current_app.config["MEDIA_DIRECT_UPLOAD"] else []
    count = len(files) + len(slots)
    limit = current_app.config["MEDIA_MAX_FILES"]
    if count > limit:
        return [], [("", _("Attach at most %(n)s files at a time.", n=limit))]
    if files:  # counted like upload slots (a slot's file was counted when its slot was issued)
        quotas.spend("uploads", current_user.id, len(files))
    media, validated, refused = orchestrator(), [], []
    for upload in files:
        try:
            validated.append(media.check(Upload(upload.stream, upload.filename or "")))
        except ValidationError as error:
            name = clean_display_name(upload.filename, "file")
            refused.append((name, str(error)))
            _record_rejection(name, error)
    if refused:
        db.session.commit()
    if slots:
        try:
            validated.extend(uploads.arrived(current_user, slots, cancellation=cancellation))
        except SlotError as error:
            refused.append(("", str(error)))
            db.session.commit()  # the refused slot is closed, so it no longer takes room on the request
        except StorageError:  # the store cannot say whether the files arrived: nothing is taken in
            current_app.logger.exception("direct uploads could not be checked in the store")
            refused.append(("", _store_down()))
    if not count:
        refused.append(("", _("Attach at least one proof file: a photo or a PDF.")))
    return validated, refused


def _record_rejection(name, error):
    """Count and audit a refused file (the rejection figures of the storage dashboard come from these)."""
    metrics.UPLOADS.labels("rejected").inc()
    daily.record_rejection(actor=current_user, owner_id=current_user.owner_id, source=request_source(),
                           detail={"filename": name, "code": error.code})
    current_app.logger.info("media.rejected code=%s", error.code)


def _shift_choices(form):
    """Offer the employee's cancellable shifts in the form; return them for the page."""
    shifts = workflow.cancellable_shifts(current_user)
    form.shift_id.choices = [(s.id, s.id) for s in shifts]
    return shifts


def _employee_page(form, file_errors=(), status=200, form_error=None, shifts=None, card_errors=None):
    shifts = shifts if shifts is not None else _shift_choices(form)
    context = dict(form=form, shifts=shifts, file_errors=file_errors, form_error=form_error,
                   requests=my_cancellations(current_user), card_errors=card_errors or {})
    if is_htmx() and status != 200:
        return render_block("cancellations/employee.html", "form_feedback", fragment=True, **context), status
    return render_template("cancellations/employee.html", **context), status


@bp.route("/")
@roles_required("owner", "manager", "employee")
def index():
    """Employee: the request form and their requests. Owner and manager: every request, filtered."""
    if current_user.role == "employee":
        return _employee_page(CancellationForm())
    form = filter_form(request.args)
    page = filtered_cancellations(form)
    if is_htmx():
        response = make_response(render_block("cancellations/team.html", "cancellation_list", form=form, page=page))
    else:
        response = make_response(render_template("cancellations/team.html", form=form, page=page))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.route("/", methods=["POST"])
@roles_required("employee")
def create():
    """Send a cancellation request with its proofs; a refused file keeps the rest of the form."""
    if "csrf_token" not in request.form:  # every page's form carries it: the body arrived broken or cut short
        raise BadInputError(_("The form arrived incomplete (the connection may have dropped). Nothing was saved: "
                              "send it again."))
    form = CancellationForm()
    shifts = _shift_choices(form)
    try:
        validated, refused = _check_files(uploaded_files("proofs"))
    except quotas.QuotaExceededError as error:
        return _retry_later(_employee_page(form, [("", str(uploads.TOO_MANY))], 429, shifts=shifts), error)
    if form.validate_on_submit() and form.shift_id.data not in {shift.id for shift in shifts}:
        form.shift_id.errors.append(_stale_shift_message(form.shift_id.data))
    if form.errors or refused:
        return _employee_page(form, refused, FORM_ERROR, shifts=shifts)
    shift = tenant_get_or_404(Shift, form.shift_id.data, employee_field="employee_id")
    try:
        workflow.request_cancellation(shift, form.reason.data, validated, actor=current_user,
                                      source=request_source())
    except workflow.WorkflowError:
        form.shift_id.errors.append(_("This shift already has a request or can no longer be cancelled."))
        return _employee_page(form, (), FORM_ERROR)
    except SlotError:
        return _employee_page(form, [("", _slot_used())], FORM_ERROR)
    except jobs.QueueUnavailableError:
        current_app.logger.exception("cancellation request could not be queued")
        return _employee_page(form, (), 503, form_error=_queue_down())
    except (StorageError, SQLAlchemyError):
        current_app.logger.exception("cancellation request could not be stored")
        return _employee_page(form, (), 503, form_error=_store_down())
    flash(_("Your request was sent. Managers see it once your files are checked; "
            "you will see the decision here."), "info")
    return _redirect_to_index()


def _stale_shift_message(shift_id):
    """Why a shift is no longer offered (another tab sent a request for it, or it has started or ended)."""
    shift = db.session.get(Shift, shift_id)
    if shift and shift.employee_id == current_user.id and shift.status == "cancellation_requested":
        return _("This shift already has a request.")
    return _("This shift can no longer be cancelled. Reload the page to see your shifts.")


def _redirect_to_index():
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url_for("cancellations.index")
        return response
    return redirect(url_for("cancellations.index"))


def _own_pending(cancellation_id):
    return tenant_get_or_404(ShiftCancellation, cancellation_id, employee_field="employee_id")


def _card(cancellation, status=200, error=None):
    """htmx: the request's card (with the shift's badge out of band on the shift cards). Without JavaScript:
    back to the page, with the error as a message."""
    compact = request.form.get("compact") == "1"  # the shift cards show the request without its shift header
    if not is_htmx():
        if error:
            flash(error, "error")
        return redirect(url_for("shifts.week" if compact else "cancellations.index"), code=303)
    html = render_macro("cancellations/_card.html", "card", cancellation, current_user, error=error, compact=compact,
                        with_shift_status=compact and status == 200)
    return html, status


@bp.route("/<id:cancellation_id>/card")
@roles_required("employee")
def card(cancellation_id):
    """One's own request card, fetched again while its files are being processed (htmx polling)."""
    cancellation = _own_pending(cancellation_id)
    return render_macro("cancellations/_card.html", "card", cancellation, current_user)


@bp.route("/<id:cancellation_id>/proofs", methods=["POST"])
@roles_required("employee")
def add_proofs(cancellation_id):
    """Attach more proofs to one's own pending request, or one in place of a refused file."""
    cancellation = _own_pending(cancellation_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    replaces = _refused_proof(cancellation, request.form.get("replaces", type=int))
    try:
        validated, refused = _check_files(uploaded_files("proofs"), cancellation=cancellation)
    except quotas.QuotaExceededError as error:
        return _retry_later(_refused_proofs(cancellation, str(uploads.TOO_MANY)), error)
    if refused:
        return _refused_proofs(cancellation, "; ".join(f"{name}: {msg}" if name else msg for name, msg in refused))
    try:
        workflow.add_proofs(cancellation, validated, actor=current_user, source=request_source(), replaces=replaces)
    except workflow.ProofLimitError as error:
        return _refused_proofs(cancellation, _room_message(error.room))
    except SlotError:
        return _refused_proofs(cancellation, _slot_used())
    except workflow.WorkflowError:
        db.session.refresh(cancellation)
        return _card(cancellation, 409, _already_decided())
    except jobs.QueueUnavailableError:
        current_app.logger.exception("proofs could not be queued")
        return _card(cancellation, 503, _queue_down())
    except (StorageError, SQLAlchemyError):
        current_app.logger.exception("proofs could not be stored")
        return _card(cancellation, 503, _store_down())
    db.session.refresh(cancellation)
    if cancellation.status != "pending":  # decided while the files were processed inline: they were not added
        return _card(cancellation, 409, _already_decided())
    return _card(cancellation)


def _refused_proof(cancellation, media_id):
    """The refused file a new one replaces (None when none is named); 404 for anything else."""
    if media_id is None:
        return None
    if not 1 <= media_id <= MAX_ID:
        abort(404)
    media = workflow.proof_of(cancellation, media_id, statuses=("refused",))
    if media is None:
        abort(404)
    return media


def _refused_proofs(cancellation, message):
    """Refused files: the card with the message (htmx), or the whole page with it at the card (422, no redirect)."""
    if is_htmx():
        return _card(cancellation, FORM_ERROR, message)
    return _employee_page(CancellationForm(), status=FORM_ERROR, card_errors={cancellation.id: message})


@bp.route("/<id:cancellation_id>/proofs/<id:media_id>/delete", methods=["POST"])
@roles_required("employee")
def remove_proof(cancellation_id, media_id):
    """Remove one proof from one's own pending request."""
    cancellation = _own_pending(cancellation_id)
    media = workflow.proof_of(cancellation, media_id, statuses=("ready", "refused"))
    if media is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        workflow.remove_proof(cancellation, media, actor=current_user, source=request_source())
    except workflow.WorkflowError:
        return _card(cancellation, 409, _already_decided())
    except StorageError:
        current_app.logger.exception("proof object could not be deleted")  # the row is hidden already
    db.session.refresh(cancellation)
    return _card(cancellation)


@bp.route("/<id:cancellation_id>/withdraw", methods=["POST"])
@roles_required("employee")
def withdraw(cancellation_id):
    """Take one's own pending request back."""
    cancellation = _own_pending(cancellation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        workflow.withdraw(cancellation, actor=current_user, source=request_source())
    except workflow.WorkflowError:
        return _card(cancellation, 409, _already_decided())
    return _card(cancellation)


@bp.route("/<id:cancellation_id>/decide", methods=["POST"])
@roles_required("owner", "manager")
def decide(cancellation_id):
    """Approve or reject in place, with an optional comment."""
    cancellation = tenant_get_or_404(ShiftCancellation, cancellation_id)
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "reject"):
        return _card(cancellation, FORM_ERROR, _("Choose approve or reject."))
    try:
        workflow.decide(cancellation, form.decision.data == "approve", form.comment.data, actor=current_user,
                        source=request_source())
    except workflow.OwnRequestError:
        return _card(cancellation, 403, _own_request())
    except workflow.WorkflowError:
        db.session.refresh(cancellation)
        return _card(cancellation, 409, _already_decided())
    return _card(cancellation)
