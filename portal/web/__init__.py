"""The pages, one module per page family, and the few helpers they share."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, get_template_attribute, request
from flask_login import current_user

from ..audit import RequestInfo

# One status policy for htmx: a form with errors answers 422 and static/js/portal.js lets htmx swap it.
FORM_ERROR = 422


def request_source():
    """Who is asking from where, for the audit log (the client address is proxy-aware via ProxyFix)."""
    return RequestInfo(ip=request.remote_addr, user_agent=request.user_agent.string or None)


def cross_site():
    """True when the browser says another site started this request (Fetch Metadata); a typed or bookmarked
    address ("none") and our own pages pass, and so do old browsers that send no Sec-Fetch-Site at all."""
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")


def is_htmx():
    """True for a request htmx made for a part of a page (not a history restore, which needs the whole page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def render_block(template_name, block_name, **context):
    """Render one named block of a page template, for an htmx request that replaces that part of the page."""
    app = current_app
    template = app.jinja_env.get_template(template_name)
    app.update_template_context(context)
    return "".join(template.blocks[block_name](template.new_context(context)))


def render_macro(template_name, macro_name, *args, **kwargs):
    """Render one macro (a card, a list) on its own."""
    return get_template_attribute(template_name, macro_name)(*args, **kwargs)


def business_day_start(day, plus_days=0):
    """Midnight starting a calendar day in the user's business timezone (zoneinfo: a pytz zone given as
    tzinfo= would be local mean time, 30-60 minutes off)."""
    return datetime.combine(day + timedelta(days=plus_days), time.min, ZoneInfo(current_user.business.timezone))


def filled(field):
    """A filter field that was given and is valid."""
    return field.data not in (None, "") and not field.errors


RESERVED_ARGS = {"endpoint", "page"}


def link_args():
    """The query's arguments, safe to hand to url_for again (no endpoint, no _external and the like)."""
    return {k: v for k, v in request.args.items() if k not in RESERVED_ARGS and not k.startswith("_")}


def uploaded_files(field):
    """The files of a multi-file input, without the empty part browsers send when none was chosen."""
    return [f for f in request.files.getlist(field) if f and (f.filename or f.content_length)]
