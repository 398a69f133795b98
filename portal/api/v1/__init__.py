"""/api/v1: the main shift app's API, authenticated by a business's token (`Authorization: Bearer ...`).

Cookies, sessions and CSRF play no part here: a signed-in browser gets 401 like anyone without a token."""
from flask import Blueprint, g, jsonify, request

from ... import api_tokens
from ...extensions import csrf

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookie is ever read, so no cross-site request can borrow one
MAX_BODY = 64 * 1024


class ApiError(Exception):
    """An answer in the API's error shape: {"error": {"code", "message"[, "fields"]}}."""

    def __init__(self, status, code, message, fields=None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def invalid(fields):
    """422 naming each field that is wrong and why."""
    return ApiError(422, "invalid", "Some fields are invalid; see `fields`.", fields)


@bp.errorhandler(ApiError)
def _answer(error):
    body = {"code": error.code, "message": error.message}
    if error.fields is not None:
        body["fields"] = error.fields
    response = jsonify({"error": body})
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response, error.status


@bp.before_request
def _authenticate():
    """Find the business of the bearer token; every view below runs as that business."""
    if request.endpoint == "api_v1.openapi":
        return
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    token = api_tokens.live_token(presented.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(401, "unauthorized", "Send a live API token: Authorization: Bearer <token>.")
    g.api_token = token
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", "The body may be at most 64 KiB.")
    request.max_content_length = MAX_BODY  # a chunked body without Content-Length stops there too


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


from . import feed, openapi_view, upserts  # noqa: E402,F401  (routes)
