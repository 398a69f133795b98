"""Reading a schedule CSV as spreadsheets write it: pure functions from bytes to rows with their own errors.

Excel saves "CSV UTF-8" with a byte-order mark, plain "CSV" in the system's code page (Windows-1251 on a
Russian Windows) and, where the decimal mark is a comma, with `;` between fields; the csv module's Sniffer
finds the separator and the text is tried as UTF-8 first (a Windows-1251 file is almost never valid UTF-8)."""
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l

from .inputs import CONTROL, DATE_MAX, DATE_MIN

MAX_BYTES = 240_000  # about 2,000 rows; the preview carries the file back in the form, under Flask's 500 kB
MAX_ROWS = 2000
# header names a spreadsheet may use for each column, compared lower-cased and with spaces as underscores
COLUMNS = {
    "email": ("email", "employee_email", "e-mail"),
    "date": ("date",),
    "start": ("start", "starts", "start_time"),
    "end": ("end", "ends", "end_time"),
    "place": ("place", "title", "location"),
    "external_id": ("external_id", "id", "shift_id"),
}
REQUIRED = ("email", "date", "start", "end", "place")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CsvFileError(Exception):
    """The file as a whole cannot be read (size, encoding, header); the message says what to fix."""


@dataclass
class Row:
    """One data row of the file: its line number, its values as read, and what is wrong with it."""

    line: int
    email: str = ""
    day: date | None = None
    start: time | None = None
    end: time | None = None
    place: str = ""
    external_id: str | None = None
    errors: list = field(default_factory=list)


@dataclass
class ParsedFile:
    """The rows of a file and how it was read."""

    encoding: str
    delimiter: str
    rows: list


def decode(data):
    """(text, encoding name) of the file's bytes: UTF-8 (with or without BOM), else Windows-1251."""
    if len(data) > MAX_BYTES:
        raise CsvFileError(_l("The file is larger than %(kb)s kB; split it into smaller files.", kb=MAX_BYTES // 1000))
    try:
        return data.decode("utf-8-sig"), "UTF-8 (BOM)" if data.startswith(b"\xef\xbb\xbf") else "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), "Windows-1251"
    except UnicodeDecodeError:
        raise CsvFileError(_l("The file is neither UTF-8 nor Windows-1251 text; save it as CSV UTF-8.")) from None


def _dialect(text):
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        return csv.excel  # one column or an unusual layout: let the header check say what is missing


def _columns(header):
    """{column: index} from the header row; CsvFileError when a required column is missing."""
    names = [h.strip().lower().replace(" ", "_") for h in header]
    found = {col: names.index(alias) for col, aliases in COLUMNS.items() for alias in aliases if alias in names}
    missing = [col for col in REQUIRED if col not in found]
    if missing:
        raise CsvFileError(_l("The first line must name the columns; missing: %(names)s.", names=", ".join(missing)))
    return found


def parse(data):
    """Read the file's bytes into rows, each with its own errors; CsvFileError for a file that cannot be read."""
    text, encoding = decode(data)
    dialect = _dialect(text)
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as error:
        raise CsvFileError(_l("The file is not valid CSV: %(error)s.", error=str(error))) from None
    lines = [(n, values) for n, values in enumerate(lines, start=1) if any(v.strip() for v in values)]
    if not lines:
        raise CsvFileError(_l("The file is empty."))
    columns = _columns(lines[0][1])
    if len(lines) - 1 > MAX_ROWS:
        raise CsvFileError(_l("The file has more than %(n)s rows; split it into smaller files.", n=MAX_ROWS))
    rows = [_row(number, values, columns) for number, values in lines[1:]]
    return ParsedFile(encoding=encoding, delimiter=dialect.delimiter, rows=rows)


def _row(number, values, columns):
    row = Row(line=number)
    cell = {col: (values[i].strip() if i < len(values) else "") for col, i in columns.items()}
    if any(CONTROL.search(value) for value in cell.values()):
        row.errors.append(_l("Remove the control characters from this row."))
        return row
    row.email = cell["email"].lower()
    if not EMAIL.match(row.email) or len(row.email) > 254:
        row.errors.append(_l("“%(value)s” is not an email address.", value=cell["email"][:80]))
    row.day = _date(cell["date"], row)
    row.start, row.end = _time(cell["start"], row), _time(cell["end"], row)
    row.place = cell["place"]
    if not row.place or len(row.place) > 160:
        row.errors.append(_l("Write the place, up to 160 characters."))
    row.external_id = cell.get("external_id") or None
    if row.external_id and len(row.external_id) > 100:
        row.errors.append(_l("The external id is longer than 100 characters."))
    return row


def _date(value, row):
    """A date as 2026-03-02 or 02.03.2026 (how a Russian spreadsheet writes it), within the portal's range."""
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            day = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        if DATE_MIN <= day <= DATE_MAX:
            return day
    row.errors.append(_l("“%(value)s” is not a date like 2026-03-02 or 02.03.2026 between %(min)s and %(max)s.",
                         value=value[:40], min=DATE_MIN.year, max=DATE_MAX.year))
    return None


def _time(value, row):
    """A time of day as 9:00, 09:00 or 09:00:00."""
    for pattern in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.strptime(value, pattern).time()
        except ValueError:
            continue
    row.errors.append(_l("“%(value)s” is not a time like 09:00.", value=value[:40]))
    return None
