"""What templates may call: labels, the htmx asset, the navigation, and filters for times, days and sizes."""
from flask import g
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_login import current_user

from . import labels
from .security_headers import HTMX_CDN_URL, HTMX_SRI, HTMX_VERSION


def init_app(app):
    """Add the globals and filters to the app's Jinja environment."""
    from .web.request_data import link_args

    app.context_processor(_template_globals)
    # Plain functions as globals, so macros rendered on their own (htmx fragments) see them too.
    app.jinja_env.globals.update(role_label=labels.role_label, status_label=labels.status_label,
                                 action_label=labels.action_label, link_args=link_args)
    app.add_template_filter(_local_time, "localtime")
    app.add_template_filter(_group_by_day, "groupby_day")
    app.add_template_filter(lambda day: format_date(day, "EEE d MMM"), "format_day")
    app.add_template_filter(_file_size, "filesize")


def _template_globals():
    return {
        "csp_nonce": g.get("csp_nonce", ""),
        "htmx": {"version": HTMX_VERSION, "sri": HTMX_SRI, "cdn_url": HTMX_CDN_URL},
        "current_locale": str(get_locale() or "ru"),
        "nav_items": labels.nav_items(current_user),
    }


def _group_by_day(shifts):
    """Group shifts (sorted by start) by their local calendar day: [(first start of the day, [shifts])]."""
    tz = get_timezone()
    groups = []
    for shift in shifts:
        day = shift.starts_at.astimezone(tz).date()
        if groups and groups[-1][0] == day:
            groups[-1][2].append(shift)
        else:
            groups.append((day, shift.starts_at, [shift]))
    return [(start, items) for _day, start, items in groups]


def _local_time(value, fmt="EEE d MMM, HH:mm"):
    """Format an aware datetime in the business's timezone and the user's language."""
    return format_datetime(value, fmt) if value else ""


def _file_size(size):
    """1536 -> '1.5 KB', in binary units."""
    value, unit = float(size or 0), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
