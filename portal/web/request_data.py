"""What a request brings: its source for the audit log, its uploaded files, its filter arguments."""
from flask import request

from ..audit import RequestInfo

RESERVED_ARGS = {"endpoint", "page", "before", "after"}


def request_source():
    """Who is asking from where, for the audit log (the client address is proxy-aware via ProxyFix)."""
    return RequestInfo(ip=request.remote_addr, user_agent=request.user_agent.string or None)


def filled(field):
    """A filter field that was given and is valid."""
    return field.data not in (None, "") and not field.errors


def link_args():
    """The query's filter arguments, safe to hand to url_for again (no endpoint, cursor, _external and the like)."""
    return {k: v for k, v in request.args.items() if k not in RESERVED_ARGS and not k.startswith("_")}


def uploaded_files(field):
    """The files of a multi-file input, without the empty part browsers send when none was chosen."""
    return [f for f in request.files.getlist(field) if f and (f.filename or f.content_length)]


def cross_site():
    """True when the browser says another site started this request (Fetch Metadata); a typed or bookmarked
    address ("none") and our own pages pass, and so do old browsers that send no Sec-Fetch-Site at all."""
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")
