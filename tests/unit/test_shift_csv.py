"""The schedule CSV reader: any bytes give rows or one CsvFileError, never another exception."""
from hypothesis import given, strategies as st

from portal.shift_csv import CsvFileError, parse

HEADER = b"email;date;start;end;place;external_id\n"


@given(st.binary(max_size=2000))
def test_any_bytes_give_rows_or_a_file_error(data):
    for candidate in (data, HEADER + data):
        try:
            parsed = parse(candidate)
        except CsvFileError:
            continue
        assert all(row.errors or (row.day and row.start and row.end and row.place) for row in parsed.rows)


@given(st.lists(st.lists(st.text(max_size=30), min_size=0, max_size=8), max_size=20))
def test_any_text_cells_give_rows_or_a_file_error(rows):
    text = "\n".join(";".join(cells) for cells in rows)
    try:
        parse(HEADER + text.encode("utf-8", "surrogatepass"))
    except (CsvFileError, UnicodeEncodeError):
        pass


def test_windows_1251_with_semicolons_and_russian_dates():
    parsed = parse("email;date;start;end;place\nanna@utro.example;02.03.2026;9:00;17:00;Бар\n".encode("cp1251"))
    assert (parsed.encoding, parsed.delimiter) == ("Windows-1251", ";")
    row = parsed.rows[0]
    assert (row.email, row.day.isoformat(), row.start.isoformat(), row.place, row.errors) == (
        "anna@utro.example", "2026-03-02", "09:00:00", "Бар", [])
