"""Absolute links for mail and the command line, which have no browser address to start from."""
from flask import current_app, has_request_context, url_for

# Where `make run` serves; used when PORTAL_BASE_URL is unset outside a request (development only).
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


class BaseURLMissingError(RuntimeError):
    """Production needs PORTAL_BASE_URL to write a link outside a request."""


def absolute_url(endpoint, **values):
    """The full address of a page: PORTAL_BASE_URL when set (production requires it), else the address of the
    current request."""
    base = current_app.config.get("PORTAL_BASE_URL")
    production = current_app.config["PORTAL_ENV"] == "production"
    if not base and has_request_context() and not production:  # production never trusts a request's Host
        return url_for(endpoint, _external=True, **values)
    if not base:
        if production:
            raise BaseURLMissingError("set PORTAL_BASE_URL to the address people open the portal at, "
                                      "e.g. https://portal.example.com")
        base = DEVELOPMENT_BASE_URL
    return base.rstrip("/") + current_app.url_map.bind("localhost").build(endpoint, values)
