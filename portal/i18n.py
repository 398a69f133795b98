"""Language and timezone choice for Flask-Babel."""
from flask import request
from flask_login import current_user

LANGUAGES = ("ru", "en")
# The language chosen before signing in (the switch on every page); a signed-in person's is on their account.
LANGUAGE_COOKIE = "lang"


def select_locale():
    """The user's own setting, else the language chosen with the switch, else the browser's, else Russian."""
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    if request.cookies.get(LANGUAGE_COOKIE) in LANGUAGES:
        return request.cookies[LANGUAGE_COOKIE]
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def select_timezone():
    """Times are shown in the timezone of the user's business."""
    if current_user and current_user.is_authenticated and current_user.business is not None:
        return current_user.business.timezone
    return None
