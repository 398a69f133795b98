"""Bounds on what a URL or a form may carry: database ids, dates and text (page cursors: web/paging.py).

Python's int and date take values no database column or timezone conversion can hold (a 20-digit id,
year 1 or 9999, NUL in a text); each is refused here with a 404 or a message next to the field, so no
request gets as far as an overflow and a 500."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.routing import BaseConverter, IntegerConverter
from wtforms import DateField, TextAreaField
from wtforms.validators import Optional, ValidationError

MAX_ID = 2**63 - 1  # the largest BIGINT in PostgreSQL (and INTEGER in SQLite)
DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2100, 12, 31)
# Control characters but tab, line feed and carriage return (which a textarea sends); PostgreSQL refuses NUL.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What a one-line field refuses besides: line breaks, CR, LF and Unicode's (a name goes into mail subjects too).
LINE_BREAK = re.compile(r"[\r\n\x85\u2028\u2029]")


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: a database id 1..MAX_ID in ASCII digits; anything else matches no route (404)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map):
        super().__init__(map, min=1, max=MAX_ID)


def parse_id(text):
    """An id given in a query string, under the rule of `<id:...>` in a path; None for anything else."""
    if not re.fullmatch(IdConverter.regex, text or ""):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


EXTERNAL_ID = r"[A-Za-z0-9._:@-]{1,100}"  # another system's id of a person or shift (the API's paths)


class ExternalIdConverter(BaseConverter):
    """`<external_id:name>` in a route: 1-100 ASCII letters, digits and . _ : @ -; anything else is 404."""

    regex = EXTERNAL_ID


class Within:
    """A field's validator: its value, when given, lies between low and high (any comparable: ids, dates).

    WTForms' NumberRange would do for ids but raises OverflowError on an int too large for a float."""

    def __init__(self, low, high, message):
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field):
        if field.data is not None and not self.low <= field.data <= self.high:
            raise ValidationError(self.message)


def id_range():
    """The validator of a form field that holds a database id."""
    return Within(1, MAX_ID, _l("Enter a number from 1 to %(max)s.", max=MAX_ID))


def date_filter(label):
    """An optional date field of a filter form, bounded on the server and in the browser's date picker."""
    bounds = _l("Choose a date between %(min)s and %(max)s.", min=DATE_MIN.isoformat(), max=DATE_MAX.isoformat())
    return DateField(label, validators=[Optional(), Within(DATE_MIN, DATE_MAX, bounds)],
                     render_kw={"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()})


def date_in_range(day):
    """The day when it lies between DATE_MIN and DATE_MAX, else None."""
    return day if day is not None and DATE_MIN <= day <= DATE_MAX else None


class Form(FlaskForm):
    """The base of every form: a value with control characters in any field, or a line break in a field of one
    line, is an error of that field."""

    def validate(self, extra_validators=None):
        """Run the fields' own validators, then refuse control characters in whatever each field received."""
        valid = super().validate(extra_validators)
        for field in self:
            one_line = not isinstance(field, TextAreaField)
            if any(isinstance(value, str) and (CONTROL.search(value) or one_line and LINE_BREAK.search(value))
                   for value in field.raw_data or ()):
                field.errors = [*field.errors, _l("Remove the control characters from this field.")]
                valid = False
        return valid
