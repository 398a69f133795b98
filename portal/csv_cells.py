"""CSV cells no spreadsheet will run as a formula, for every CSV the portal hands out."""
import re

# Excel or LibreOffice may split a line on `,`, `;` (a Russian locale's list separator, whatever the file says),
# tab or a line break; each piece of a cell between them is a formula when it starts, after blanks and quotes,
# with = + - @ or their full-width forms.
FORMULA_START = re.compile(r'(?:[^\S\t\r\n]|")*[=+\-@\uff1d\uff0b\uff0d\uff20]')
FORMULA_AFTER_SEPARATOR = re.compile(r'([,;\t\r\n])(' + FORMULA_START.pattern + ")")


def safe_cell(value):
    """A CSV cell no spreadsheet will run, whichever separator it splits on: every piece between separators
    that starts like a formula (after blanks or quotes) gets an apostrophe in front."""
    text = "" if value is None else str(value)
    if FORMULA_AFTER_SEPARATOR.search(text):  # rare: search first, substitute only then (export speed)
        text = FORMULA_AFTER_SEPARATOR.sub(r"\1'\2", text)
    return "'" + text if FORMULA_START.match(text) else text
