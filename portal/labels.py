"""Human words for roles, statuses and navigation, translated."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"owner": _l("Owner"), "manager": _l("Manager"), "employee": _l("Employee")}

STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "past": _l("Past"),
    "cancellation_requested": _l("Cancellation requested"),
    "cancelled": _l("Cancelled"),
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}

ACTION_LABELS = {
    "media.upload": _l("Uploaded a file"),
    "media.view": _l("Opened a file"),
    "media.download": _l("Downloaded a file"),
    "media.delete": _l("Removed a file"),
    "media.reject": _l("Sent a file that was refused"),
    "media.restore": _l("Restored a file"),
    "media.api_links": _l("Fetched file links (API)"),
    "cancellation.request": _l("Asked to cancel a shift"),
    "cancellation.withdraw": _l("Withdrew a request"),
    "cancellation.approve": _l("Approved a cancellation"),
    "cancellation.reject": _l("Rejected a cancellation"),
    "business.create": _l("Business created"),
    "staff.invite": _l("Invited a person"),
    "staff.resend": _l("Resent an invitation"),
    "staff.deactivate": _l("Deactivated a person"),
    "staff.reactivate": _l("Reactivated a person"),
    "staff.role": _l("Changed a person's role"),
    "account.password_set": _l("Set a password from a link"),
    "account.password_change": _l("Changed their password"),
    "account.password_reset_request": _l("Asked for a password link"),
    "account.profile": _l("Changed their profile"),
    "shift.create": _l("Added a shift"),
    "shift.update": _l("Changed a shift"),
    "shift.delete": _l("Deleted a shift"),
    "shift.reassign": _l("Gave an open shift to another employee"),
    "shift.import": _l("Imported shifts from a CSV file"),
    "api_token.create": _l("Created an API token"),
    "api_token.revoke": _l("Revoked an API token"),
    "api.employee": _l("Employee sent by the API"),
    "api.shift": _l("Shift sent by the API"),
    "person.export": _l("Exported a person's data"),
    "media.purge": _l("Deleted a file for good"),
    "privacy.retention": _l("Changed how long proofs are kept"),
    "privacy.hold": _l("Placed a legal hold"),
    "privacy.release": _l("Released a legal hold"),
    "privacy.erase": _l("Erased a person"),
}

LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}  # each in its own language, as the switch shows them

PERSON_STATUS_LABELS = {"invited": _l("Invited"), "active": _l("Active"), "deactivated": _l("Deactivated")}

# Endpoint and label of each navigation item, by role.
NAV = {
    "owner": [("home.index", _l("Today")), ("shifts.week", _l("Shift cards")),
              ("cancellations.index", _l("Cancellations")), ("audit.index", _l("Audit log")),
              ("storage.index", _l("Storage")), ("staff.index", _l("Staff")), ("api_tokens.index", _l("API tokens")),
              ("retention.index", _l("Data protection"))],
    "manager": [("home.index", _l("Today")), ("shifts.week", _l("Shift cards")),
                ("cancellations.index", _l("Cancellations")), ("audit.index", _l("Audit log")),
                ("staff.index", _l("Staff"))],
    "employee": [("home.index", _l("My shifts")), ("cancellations.index", _l("Cancel a shift")),
                 ("my_data.index", _l("My data"))],
}


def role_label(role):
    """The translated name of a role."""
    return ROLE_LABELS.get(role, role)


def status_label(status):
    """The translated name of a shift or cancellation status."""
    return STATUS_LABELS.get(status, status)


def action_label(action):
    """The translated description of an audit action."""
    return ACTION_LABELS.get(action, action)


def person_status_label(status):
    """The translated name of a person's status (invited, active, deactivated)."""
    return PERSON_STATUS_LABELS.get(status, status)


def _profile_value(field, value):
    if field == "notifications":
        return _l("on") if value else _l("off")
    if field == "language":
        return LANGUAGE_NAMES.get(value, _l("not chosen"))
    return value


def profile_changes(detail):
    """What an account.profile event changed, in words: "name: Anna → Anna K.; notification mail: on → off"."""
    words = {"name": _l("name"), "language": _l("language"), "notifications": _l("notification mail")}
    changes = (detail or {}).get("changes", {})
    return "; ".join(f"{words.get(field, field)}: {_profile_value(field, before)} → {_profile_value(field, after)}"
                     for field, (before, after) in changes.items())


def nav_items(user):
    """Navigation entries for this user's role (none when signed out)."""
    if not user or not user.is_authenticated:
        return []
    return NAV.get(user.role, [])
