"""Language and timezone choice for Flask-Babel."""
from flask import request
from flask_login import current_user

LANGUAGES = ("ru", "en")


def select_locale():
    """The user's own setting, else the browser's preference, else Russian."""
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def select_timezone():
    """Times are shown in the timezone of the user's business."""
    if current_user and current_user.is_authenticated and current_user.business is not None:
        return current_user.business.timezone
    return None
