"""GET /api/v1/openapi.json: the document, open to anyone (it holds no data)."""
from flask import jsonify

from . import bp
from .openapi import DOCUMENT


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(DOCUMENT)
