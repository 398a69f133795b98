"""What templates may call: labels, the htmx asset, the navigation, links by id, and filters for times, days
and sizes. A week of shift cards holds thousands of links and times, so those two are built cheaply: a link
pattern once per endpoint and request, the locale and timezone once per request."""
from datetime import date

from babel import dates, units
from flask import g, url_for
from flask_babel import format_date, get_locale, get_timezone, get_translations
from flask_login import current_user

from . import labels
from .models import utcnow
from .security_headers import HTMX_CDN_URL, HTMX_SRI, HTMX_VERSION


def init_app(app):
    """Add the globals and filters to the app's Jinja environment."""
    from .web.request_data import link_args

    app.context_processor(_template_globals)
    # Plain functions as globals, so macros rendered on their own (htmx fragments) see them too.
    app.jinja_env.globals.update(role_label=_per_request(labels.role_label),
                                 status_label=_per_request(labels.status_label),
                                 action_label=_per_request(labels.action_label),
                                 person_status_label=_per_request(labels.person_status_label), link_args=link_args,
                                 profile_changes=labels.profile_changes,
                                 id_url=id_url)
    app.add_template_filter(_local_time, "localtime")
    app.add_template_filter(_group_by_day, "groupby_day")
    app.add_template_filter(_day, "format_day")
    app.add_template_filter(_shift_state, "shift_state")
    app.add_template_filter(_file_size, "filesize")
    # Flask-Babel's template gettext finds the catalog through three context lookups on every call; a page of
    # cards calls it over a thousand times, so the catalog is looked up once per request instead.
    app.jinja_env.install_gettext_callables(
        gettext=lambda text: _catalog().ugettext(text),
        ngettext=lambda singular, plural, n: _catalog().ungettext(singular, plural, n),
        pgettext=lambda context, text: _catalog().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: _catalog().unpgettext(context, singular, plural, n),
        newstyle=True)


def _catalog():
    """This request's translations (the language is chosen once per request)."""
    if "babel_catalog" not in g:
        g.babel_catalog = get_translations()
    return g.babel_catalog


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


def _per_request(label):
    """A label function whose translations are looked up once per request and value (a week of cards asks for
    the same few statuses hundreds of times)."""
    def cached(value):
        seen = g.setdefault(f"labels_{label.__name__}", {})
        if value not in seen:
            seen[value] = str(label(value))
        return seen[value]

    cached.__name__ = label.__name__
    return cached


def id_url(endpoint, **ids):
    """url_for for links that differ only in integer ids: the endpoint's URL is built once per request with
    placeholders, then filled in (a week of cards holds ~2,000 such links)."""
    patterns = g.setdefault("id_url_patterns", {})
    key = (endpoint, tuple(sorted(ids)))
    if key not in patterns:
        # placeholder ids any id converter accepts; their digits cannot occur in a route's fixed parts
        marks = {name: 123456789 + index for index, name in enumerate(key[1])}
        pattern = url_for(endpoint, **marks).replace("{", "{{").replace("}", "}}")
        for name, mark in marks.items():
            pattern = pattern.replace(str(mark), "{%s}" % name)
        patterns[key] = pattern
    return patterns[key].format(**{name: int(value) for name, value in ids.items()})


def _local_time(value, fmt="EEE d MMM, HH:mm"):
    """Format an aware datetime in the business's timezone and the user's language."""
    if not value:
        return ""
    if "babel_format_context" not in g:
        g.babel_format_context = (get_locale(), get_timezone())
    locale, tz = g.babel_format_context
    # the pattern is parsed once (babel caches it) and applied: half the cost of dates.format_datetime
    return dates.parse_pattern(fmt).apply(value.astimezone(tz), locale)


def _day(day, fmt="EEE d MMM"):
    """A calendar day (a date or its ISO text) in the user's language, its first letter capitalised as a heading's:
    "Пн 23 нояб." (CSS capitalize would make it "Пн 23 Нояб.")."""
    text = format_date(date.fromisoformat(day) if isinstance(day, str) else day, fmt)
    return text[:1].upper() + text[1:]


def _shift_state(shift):
    """The shift's status for its badge; a scheduled shift that has ended is "past", not "scheduled"."""
    if shift.status == "scheduled" and shift.ends_at <= utcnow():
        return "past"
    return shift.status


def _file_size(size):
    """1536 -> '1.5 kB' ('1,5 кБ' in Russian): binary steps, the unit words and decimal mark of the user's language."""
    value, unit = float(size or 0), "byte"
    for unit in ("byte", "kilobyte", "megabyte", "gigabyte", "terabyte"):
        if value < 1024 or unit == "terabyte":
            break
        value /= 1024
    if unit == "byte":  # CLDR's short English form is "byte" even for 512: the long form reads right
        return units.format_unit(int(value), "digital-byte", length="long", locale=get_locale())
    return units.format_unit(value, f"digital-{unit}", length="short", format="#,##0.0", locale=get_locale())