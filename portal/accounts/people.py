"""The people workflow: start a business, invite, resend, deactivate, reactivate, change a role, set a password.

Views and commands call these; these write the audit event and the mail in the same transaction and own the commit.
"""
import zoneinfo

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from .. import audit
from ..extensions import db
from ..i18n import LANGUAGES
from ..mail import messages
from ..models import User, new_session_token, utcnow
from . import links

STAFF_ROLES = ("employee", "manager")
MIN_PASSWORD_LENGTH = 10


class PeopleError(Exception):
    """A people action that cannot be done; the message says why (views show their own translated words)."""


class InvalidEmailError(PeopleError):
    """Not an email address."""


class EmailTakenError(PeopleError):
    """Someone already has an account with this email."""


class UnknownTimezoneError(PeopleError):
    """Not a name of the IANA timezone database."""


class NotAllowedError(PeopleError):
    """This person may not do this to that person (a manager changing roles, anyone touching the owner)."""


class StateError(PeopleError):
    """The person is not in a state for this action (resending to someone who has a password already)."""


def normalise_email(address):
    """The address as stored (lower-cased), or InvalidEmailError with the validator's reason."""
    try:
        return validate_email((address or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidEmailError(str(error)) from None


def _require_free(email):
    if db.session.execute(db.select(User.id).where(User.email == email)).first():
        raise EmailTakenError(f"{email} already has an account")


def _commit_new_person(email):
    """Commit; a unique-email race lost to another request becomes EmailTakenError and nothing is kept."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EmailTakenError(f"{email} already has an account") from None


def _who(user):
    """What the audit log keeps about the person an action was about (it outlives renames)."""
    return {"user_id": user.id, "name": user.display_name, "role": user.role}


def create_business(*, name, timezone, owner_email, language="ru", owner_name=None):
    """A new business with its owner, who has no password yet; return the owner's invitation link."""
    name = (name or "").strip()
    if not name or len(name) > 160:
        raise PeopleError("the business name must have 1 to 160 characters")
    if timezone not in zoneinfo.available_timezones():
        raise UnknownTimezoneError(f"{timezone!r} is not a timezone name such as Europe/Moscow or Asia/Yekaterinburg")
    if language not in LANGUAGES:
        raise PeopleError(f"the language must be one of {', '.join(LANGUAGES)}")
    email = normalise_email(owner_email)
    _require_free(email)
    owner = User(email=email, display_name=(owner_name or "").strip()[:120] or email.split("@")[0], role="owner",
                 business_name=name, timezone=timezone, language=language, password_hash=None)
    db.session.add(owner)
    db.session.flush()
    owner.owner_id = owner.id
    audit.record("business.create", actor=None, owner_id=owner.id, detail={**_who(owner), "business": name})
    link = links.make_link(owner, "invitation")
    _commit_new_person(email)
    return owner, link


def invite(*, name, email, role, language, actor, source=None):
    """Add an employee or manager (a manager may add employees only) and mail them a set-password link."""
    if role not in STAFF_ROLES or (actor.role == "manager" and role != "employee") or actor.role == "employee":
        raise NotAllowedError(f"a {actor.role} cannot invite a {role}")
    email = normalise_email(email)
    _require_free(email)
    person = User(email=email, display_name=name.strip()[:120], role=role, owner_id=actor.owner_id,
                  language=language if language in LANGUAGES else None, password_hash=None)
    db.session.add(person)
    db.session.flush()
    audit.record("staff.invite", actor=actor, owner_id=actor.owner_id, source=source, detail=_who(person))
    messages.invitation(person, links.make_link(person, "invitation"), inviter=actor)
    _commit_new_person(email)
    return person


def resend_invitation(person, *, actor, source=None):
    """Mail a new set-password link to someone who has not set a password yet; the earlier link stops working."""
    _require_manageable(person, actor, invite_only=True)
    if person.status != "invited":
        raise StateError("this person has set a password already; they can use “Forgot password”")
    person.session_token = new_session_token()  # the fingerprint changes: the earlier link is used up
    audit.record("staff.resend", actor=actor, owner_id=actor.owner_id, source=source, detail=_who(person))
    messages.invitation(person, links.make_link(person, "invitation"), inviter=actor)
    db.session.commit()


def _require_manageable(person, actor, invite_only=False):
    """Owners manage everyone but themselves; managers only resend invitations to employees."""
    if person.role == "owner" or person.id == actor.id:
        raise NotAllowedError("the owner's account and one's own are not changed here")
    if actor.role == "owner":
        return
    if not (actor.role == "manager" and invite_only and person.role == "employee"):
        raise NotAllowedError(f"a {actor.role} cannot do this to a {person.role}")


def deactivate(person, *, actor, source=None):
    """Refuse the person's sign-ins and end their sessions; their history, proofs and name stay."""
    _require_manageable(person, actor)
    if not person.active:
        raise StateError("this person is deactivated already")
    person.deactivate()
    audit.record("staff.deactivate", actor=actor, owner_id=actor.owner_id, source=source, detail=_who(person))
    db.session.commit()


def reactivate(person, *, actor, source=None):
    """Let a deactivated person sign in again (with the password they had, or a link if they never set one)."""
    _require_manageable(person, actor)
    if person.active:
        raise StateError("this person is active already")
    person.active = True
    audit.record("staff.reactivate", actor=actor, owner_id=actor.owner_id, source=source, detail=_who(person))
    db.session.commit()


def change_role(person, role, *, actor, source=None):
    """Make an employee a manager or a manager an employee (the owner only; one owner per business)."""
    _require_manageable(person, actor)
    if role not in STAFF_ROLES:
        raise NotAllowedError("a business has one owner; roles change between employee and manager only")
    if role == person.role:
        raise StateError(f"this person is a {role} already")
    before = person.role
    person.role = role
    audit.record("staff.role", actor=actor, owner_id=actor.owner_id, source=source,
                 detail={**_who(person), "from": before})
    db.session.commit()


def set_password_from_link(person, password, *, source=None):
    """Set the password of the person a checked link was made for, once: two tabs with one link cannot both win."""
    changed = db.session.execute(
        db.update(User).where(User.id == person.id, User.session_token == person.session_token, User.active.is_(True))
        .values(password_hash=generate_password_hash(password), session_token=new_session_token(),
                last_sign_in_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not changed:
        db.session.rollback()
        raise links.LinkUsedError("the link was used meanwhile")
    audit.record("account.password_set", actor=person, owner_id=person.owner_id, source=source)
    db.session.commit()
    db.session.refresh(person)


def change_password(person, new_password, *, source=None):
    """A new password chosen on the account page (the current one was checked); other sessions end."""
    person.set_password(new_password)
    audit.record("account.password_change", actor=person, owner_id=person.owner_id, source=source)
    db.session.commit()


def request_password_reset(email, *, source=None):
    """Mail a reset link if an active account has this address; say nothing either way (the caller answers alike)."""
    try:
        email = normalise_email(email)
    except InvalidEmailError:
        return
    person = db.session.execute(db.select(User).where(User.email == email, User.active.is_(True))).scalar_one_or_none()
    if person is None:
        return
    audit.record("account.password_reset_request", actor=person, owner_id=person.owner_id, source=source)
    messages.password_reset(person, links.make_link(person, "reset"))
    db.session.commit()


def update_profile(person, *, name, language, email_notifications, source=None):
    """The person's own name, language and whether they get notification mail; what changed is audited."""
    _change_profile(person, source, display_name=name.strip()[:120],
                    language=language if language in LANGUAGES else None,
                    email_notifications=bool(email_notifications))


def set_language(person, language, *, source=None):
    """The language switch of every page, for a signed-in person: their profile's language, audited alike."""
    _change_profile(person, source, language=language if language in LANGUAGES else None)


# The profile's fields and their names in the audit event's detail (the audit log page words them).
PROFILE_FIELDS = {"display_name": "name", "language": "language", "email_notifications": "notifications"}


def _change_profile(person, source, **values):
    """Set the fields and audit each that changed, as [before, after], in the same commit; nothing changed, no event."""
    changes = {PROFILE_FIELDS[field]: [getattr(person, field), value] for field, value in values.items()
               if getattr(person, field) != value}
    for field, value in values.items():
        setattr(person, field, value)
    if changes:
        audit.record("account.profile", actor=person, owner_id=person.owner_id, source=source,
                     detail={"changes": changes})
    db.session.commit()


def staff_of(owner_id):
    """Everyone of a business: the owner first, then managers, then employees, by name."""
    order = sa.case({"owner": 0, "manager": 1}, value=User.role, else_=2)
    return db.session.execute(
        db.select(User).where(User.owner_id == owner_id).order_by(order, User.display_name, User.id)
    ).scalars().all()
