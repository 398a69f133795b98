"""What every response shares: security headers, the CSP nonce, template helpers, error pages."""
import secrets
from urllib.parse import urlsplit

from flask import g, make_response, render_template, request
from flask_babel import format_date, format_datetime, get_locale, get_timezone, gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from . import labels

HTMX_VERSION = "2.0.11"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
HTMX_CDN_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_CDN_ORIGIN = "https://cdn.jsdelivr.net"


def init_app(app):
    """Attach headers, template globals and error handlers to the app."""
    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(_make_nonce)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    # Plain functions as globals, so macros rendered on their own (htmx fragments) see them too.
    from .web import link_args

    app.jinja_env.globals.update(role_label=labels.role_label, status_label=labels.status_label,
                                 action_label=labels.action_label, link_args=link_args,
                                 person_status_label=labels.person_status_label)
    app.add_template_filter(_local_time, "localtime")
    app.add_template_filter(_group_by_day, "groupby_day")
    app.add_template_filter(lambda day: format_date(day, "EEE d MMM"), "format_day")
    app.add_template_filter(_file_size, "filesize")
    for code in (400, 403, 404, 405, 413, 429, 500, 503):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)


def _make_nonce():
    g.csp_nonce = secrets.token_urlsafe(16)


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


def _security_headers(response):
    from flask import current_app

    cdn = f" {HTMX_CDN_ORIGIN}" if current_app.config["HTMX_CDN"] else ""
    nonce = g.get("csp_nonce", "")
    media = media_origins(current_app.config)
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'{cdn}; style-src 'self'; "
        f"img-src 'self' data: blob:{media}; frame-src 'self'{media}; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "geolocation=(), microphone=()")
    if current_app.config["PORTAL_ENV"] == "production":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def media_origins(config):
    """The origins presigned media URLs point at, which pages must be allowed to load images from."""
    if config["MEDIA_STORAGE_PROVIDER"] != "s3":
        return ""
    base = config.get("MEDIA_STORAGE_PUBLIC_BASE_URL") or config.get("MEDIA_STORAGE_ENDPOINT")
    if not base:
        return " https://*.amazonaws.com"
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    if config.get("MEDIA_STORAGE_ADDRESSING") == "virtual":
        return f" {origin} {parts.scheme}://*.{parts.netloc}"
    return f" {origin}"


def _error_page(error):
    code = getattr(error, "code", 500) or 500
    titles = {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("Nothing here. It may have been removed, or the link is wrong."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on our side. Please try again."),
        503: _("This is not available for a moment. Please try again shortly."),
    }
    response = make_response(_answer(code, titles.get(code, titles[500])))
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _csrf_error(error):
    return _answer(400, _("This form has expired. Reload the page and try again; nothing was saved."))


def _answer(code, message):
    """A whole error page; for htmx, the message alone, put into the page's message area."""
    if request.headers.get("HX-Request") == "true":
        response = make_response(render_template("errors/inline.html", message=message), code)
        response.headers["HX-Retarget"] = "#flash-area"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render_template("errors/error.html", code=code, message=message), code
