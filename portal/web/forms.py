"""Forms of the pages (CSRF included by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..inputs import Form, date_filter, id_range


class CancellationForm(Form):
    """An employee asks to cancel one of their shifts, with a reason; the files come alongside."""

    # the view checks the choice itself, to say why a shift is no longer offered (WTForms: "Not a valid choice")
    shift_id = SelectField(_l("Shift"), coerce=int, validate_choice=False,
                           validators=[InputRequired(_l("Choose a shift.")), id_range()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Write a short reason.")), Length(max=2000)])


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
