"""Forms of the pages (CSRF included by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, FileField, HiddenField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..inputs import DATE_MAX, DATE_MIN, Form, Within, date_filter, id_range
from ..shift_csv import MAX_BYTES


class CancellationForm(Form):
    """An employee asks to cancel one of their shifts, with a reason; the files come alongside."""

    # the view checks the choice itself, to say why a shift is no longer offered (WTForms: "Not a valid choice")
    shift_id = SelectField(_l("Shift"), coerce=int, validate_choice=False,
                           validators=[InputRequired(_l("Choose a shift.")), id_range()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Write a short reason.")), Length(max=2000)])


class SlotForm(Form):
    """Ask for one upload slot: the file's type (from the allowlist) and name; the request it is for, if sent."""

    content_type = StringField(validators=[DataRequired(), Length(max=100)])
    filename = StringField(validators=[Optional(), Length(max=255)])
    cancellation = StringField(validators=[Optional(), Length(max=20)])


class ActionForm(Form):
    """A button-only form (withdraw, remove): CSRF and nothing else."""


class DecisionForm(Form):
    """Approve or reject, with an optional comment."""

    decision = HiddenField(validators=[DataRequired()])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=1000)])


class CancellationFilterForm(Form):
    """Filters of the owner's and manager's list (a GET form: no CSRF needed)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=[], validators=[Optional()])
    employee = SelectField(_l("Employee"), coerce=lambda v: int(v) if v else None, choices=[],
                           validators=[Optional()])
    date_from = date_filter(_l("From"))
    date_to = date_filter(_l("To"))


class ShiftForm(Form):
    """One shift: who, which day, from and until when (local time of the business), where."""

    employee = SelectField(_l("Employee"), coerce=int, choices=[], validators=[InputRequired(_l("Choose an employee."))])
    day = DateField(_l("Date"), validators=[InputRequired(_l("Choose a date.")), Within(DATE_MIN, DATE_MAX, _l(
        "Choose a date between %(min)s and %(max)s.", min=DATE_MIN.isoformat(), max=DATE_MAX.isoformat()))],
        render_kw={"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()})
    start = TimeField(_l("Starts"), validators=[InputRequired(_l("Enter the start time."))])
    end = TimeField(_l("Ends"), validators=[InputRequired(_l("Enter the end time."))],
                    description=_l("An end before the start is on the next day (an overnight shift)."))
    title = StringField(_l("Place"), validators=[DataRequired(_l("Say where the shift is.")), Length(max=160)])


class CopyWeekForm(Form):
    """Copy one week's shifts to the next; the week is any day of it."""

    week = DateField(validators=[InputRequired(), Within(DATE_MIN, DATE_MAX, _l("Choose a week to copy."))])


class ImportForm(Form):
    """A schedule CSV to preview, then import; the preview carries the file back (base64) in `payload`."""

    file = FileField(_l("CSV file"))
    payload = HiddenField(validators=[Optional(), Length(max=MAX_BYTES * 4 // 3 + 4)])
    good_rows = BooleanField(_l("Import the good rows and skip the rows with errors"))


class ReassignForm(Form):
    """Give an open shift to another employee of the business."""

    employee = SelectField(_l("Give to"), coerce=int, choices=[], validators=[InputRequired(_l("Choose an employee."))])
