"""Forms of the staff and account pages (CSRF included by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..accounts.people import MIN_PASSWORD_LENGTH
from ..inputs import Form

LANGUAGE_CHOICES = [SelectChoice("ru", "Русский"), SelectChoice("en", "English")]


class InviteForm(Form):
    """Name, email, role and language of a new person; the role choices depend on who invites."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Write the person's name.")), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Write the person's email.")), Length(max=254),
                                                Email(_l("This is not an email address."), check_deliverability=False)])
    role = SelectField(_l("Role"), choices=[])
    language = SelectField(_l("Language of their mail and pages"), choices=LANGUAGE_CHOICES)


class RoleForm(Form):
    """Make an employee a manager or a manager an employee."""

    role = SelectField(choices=[SelectChoice("employee"), SelectChoice("manager")])


def new_password_field(label):
    """A new password: long enough, not too long (hashing a megabyte is a denial of service)."""
    return PasswordField(label, validators=[
        DataRequired(_l("Choose a password.")),
        Length(min=MIN_PASSWORD_LENGTH, max=1024,
               message=_l("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)),
    ])


class ProfileForm(Form):
    """The person's own name, language and mail notifications."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Write your name.")), Length(max=120)])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    email_notifications = BooleanField(_l("Email me about cancellation requests and decisions"))


class PasswordChangeForm(Form):
    """The current password, and the new one twice."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new_password = new_password_field(_l("New password"))
    confirm = PasswordField(_l("New password again"),
                            validators=[EqualTo("new_password", _l("The two passwords differ."))])


class SetPasswordForm(Form):
    """The password chosen from an invitation or reset link, twice."""

    new_password = new_password_field(_l("Password"))
    confirm = PasswordField(_l("Password again"),
                            validators=[EqualTo("new_password", _l("The two passwords differ."))])


class ForgotPasswordForm(Form):
    """The email to send a set-password link to."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class LanguageForm(Form):
    """The language switch of every page."""

    language = SelectField(choices=LANGUAGE_CHOICES)
    next = StringField(validators=[Length(max=2000)])
