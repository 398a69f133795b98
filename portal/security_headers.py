"""Security headers on every response: the Content Security Policy with its per-request nonce, and the rest.

The pinned htmx script lives here too, because the policy must name where it may come from."""
import secrets
from urllib.parse import urlsplit

from flask import current_app, g
from werkzeug.middleware.proxy_fix import ProxyFix

HTMX_VERSION = "2.0.11"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
# The page's script tag and the CSP's script-src both name this one file, not the CDN's whole host.
HTMX_CDN_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"


def init_app(app):
    """Trust the configured proxy hops, make a nonce per request and add the headers to every response."""
    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(_make_nonce)
    app.after_request(_security_headers)


def _make_nonce():
    g.csp_nonce = secrets.token_urlsafe(16)


def _security_headers(response):
    cdn = f" {HTMX_CDN_URL}" if current_app.config["HTMX_CDN"] else ""
    nonce = g.get("csp_nonce", "")
    media = media_origins(current_app.config)
    uploads = media if current_app.config["MEDIA_DIRECT_UPLOAD"] else ""  # the browser posts proofs to the store
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'{cdn}; style-src 'self'; "
        f"img-src 'self' data: blob:{media}; frame-src 'self'{media}; connect-src 'self'{uploads}; "
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
