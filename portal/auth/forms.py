"""Forms of the auth pages."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..inputs import Form


class LoginForm(Form):
    """Email and password, with CSRF."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me signed in"))


class LogoutForm(Form):
    """An empty form: sign-out is a POST so another site cannot sign a user out."""
