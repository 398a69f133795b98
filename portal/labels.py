"""Human words for roles, statuses and navigation, translated."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"owner": _l("Owner"), "manager": _l("Manager"), "employee": _l("Employee")}

STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "cancellation_requested": _l("Cancellation requested"),
    "cancelled": _l("Cancelled"),
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
}

# Endpoint and label of each navigation item, by role. Items are added as page families arrive.
NAV = {
    "owner": [("home.index", _l("This week"))],
    "manager": [("home.index", _l("This week"))],
    "employee": [("home.index", _l("My shifts"))],
}


def role_label(role):
    """The translated name of a role."""
    return ROLE_LABELS.get(role, role)


def status_label(status):
    """The translated name of a shift or cancellation status."""
    return STATUS_LABELS.get(status, status)


def nav_items(user):
    """Navigation entries for this user's role (none when signed out)."""
    if not user or not user.is_authenticated:
        return []
    return NAV.get(user.role, [])
