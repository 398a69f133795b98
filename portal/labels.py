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
}

# Endpoint and label of each navigation item, by role.
NAV = {
    "owner": [("home.index", _l("Today")), ("shifts.week", _l("Shift cards")),
              ("cancellations.index", _l("Cancellations")), ("audit.index", _l("Audit log")),
              ("storage.index", _l("Storage"))],
    "manager": [("home.index", _l("Today")), ("shifts.week", _l("Shift cards")),
                ("cancellations.index", _l("Cancellations")), ("audit.index", _l("Audit log"))],
    "employee": [("home.index", _l("My shifts")), ("cancellations.index", _l("Cancel a shift"))],
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


def nav_items(user):
    """Navigation entries for this user's role (none when signed out)."""
    if not user or not user.is_authenticated:
        return []
    return NAV.get(user.role, [])
