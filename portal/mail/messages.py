"""Which mail each event writes, to whom: invitations, password resets, decisions, new requests."""
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..links import absolute_url
from ..models import User
from .outbox import language_of, queue


def _shift_time(shift, recipient):
    """The shift's start and end in the business's timezone and the recipient's language."""
    tz, locale = ZoneInfo(recipient.business.timezone), language_of(recipient)
    start = format_datetime(shift.starts_at, "EEEE d MMMM, HH:mm", tzinfo=tz, locale=locale)
    return f"{start}–{format_datetime(shift.ends_at, 'HH:mm', tzinfo=tz, locale=locale)}"


def invitation(person, link, *, inviter):
    """The invitation with its set-password link."""
    business = person.business.business_name
    queue(person, "invitation", _l("You are invited to %(business)s", business=business), link=link,
          business=business, inviter=inviter.display_name)


def password_reset(person, link):
    """The link that sets a new password (asked for on the sign-in page)."""
    queue(person, "password_reset", _l("Set a new password"), link=link)


def decision(cancellation):
    """“Your request was approved / rejected”, with the comment, to the employee (unless they turned mail off)."""
    employee = cancellation.employee
    if not (employee.active and employee.email_notifications):
        return
    approved = cancellation.status == "approved"
    subject = _l("Your request was approved") if approved else _l("Your request was rejected")
    queue(employee, "decision", subject, approved=approved, comment=cancellation.decision_comment,
          shift=cancellation.shift, when=_shift_time(cancellation.shift, employee),
          decided_by=cancellation.decided_by.display_name if cancellation.decided_by else "",
          link=absolute_url("cancellations.index"))


def new_request(cancellation):
    """“New request with proofs” to the owner and every manager of the business who keeps notifications on."""
    reviewers = db.session.execute(
        db.select(User).where(User.owner_id == cancellation.owner_id, User.role.in_(("owner", "manager")),
                              User.active.is_(True), User.email_notifications.is_(True))
    ).scalars().all()
    employee = cancellation.employee
    for reviewer in reviewers:
        queue(reviewer, "new_request", _l("New request with proofs from %(name)s", name=employee.display_name),
              employee=employee.display_name, reason=cancellation.reason, shift=cancellation.shift,
              when=_shift_time(cancellation.shift, reviewer), files=len(cancellation.proofs),
              link=absolute_url("shifts.show", shift_id=cancellation.shift_id))
