"""Error pages: a whole page for a browser, the message alone for htmx (put into the page's message area)."""
from flask import current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError


class BadInputError(Exception):
    """Input a person can correct (a malformed link, an impossible value): 400 with this message."""

    code = 400

    def __init__(self, message):
        super().__init__(message)
        self.message = message


API_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
             429: "too_many_requests", 500: "server_error", 503: "unavailable"}


def init_app(app):
    """Register the error pages."""
    for code in (400, 403, 404, 405, 413, 429, 500, 503):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(BadInputError, lambda error: _answer(400, error.message))


def _error_page(error):
    code = getattr(error, "code", 500) or 500
    titles = {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("Nothing here. It may have been removed, or the link is wrong."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large: each file may have at most %(mb)s MB, and one request at most %(n)s files.",
               mb=round(current_app.config["MEDIA_MAX_UPLOAD_BYTES"] / 1048576),
               n=current_app.config["MEDIA_MAX_FILES"]),
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
    """A whole error page; for htmx, the message alone, put into the page's message area; JSON under /api/v1."""
    if request.path.startswith("/api/v1/"):  # routing errors (404, 405) and 413 never reach the blueprint
        return jsonify({"error": {"code": API_CODES.get(code, "error"), "message": message}}), code
    if request.headers.get("HX-Request") == "true":
        response = make_response(render_template("errors/inline.html", message=message), code)
        response.headers["HX-Retarget"] = "#flash-area"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render_template("errors/error.html", code=code, message=message), code
