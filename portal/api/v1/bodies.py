"""What an API request carries, checked: a JSON body against the document's schema, ids, moments in time.

The bounds are those of portal/inputs.py: no control characters, no year a column or a timezone cannot hold."""
import json
from datetime import datetime, timezone

from flask import request
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ...inputs import CONTROL, DATE_MAX, DATE_MIN
from . import ApiError, invalid
from .openapi import DOCUMENT

_REGISTRY = Registry().with_resource("urn:api", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))
_VALIDATORS = {}


def _validator(name):
    if name not in _VALIDATORS:
        _VALIDATORS[name] = Draft202012Validator({"$ref": f"urn:api#/components/schemas/{name}"},
                                                 registry=_REGISTRY)
    return _VALIDATORS[name]


def _say(error):
    """A short reason for one schema error, never echoing the value (which may be 64 KiB of anything)."""
    value = error.validator_value
    if error.validator == "enum":
        return "One of: " + ", ".join(map(str, value)) + "."
    return {
        "type": f"Must be of type {value}.",
        "maxLength": f"At most {value} characters.",
        "minLength": "May not be empty." if value == 1 else f"At least {value} characters.",
        "pattern": "Letters, digits and . _ : @ - only.",
    }.get(error.validator, "Invalid value.")


def json_body(schema):
    """The request's JSON object, valid against the named schema, or ApiError (415, 422)."""
    if request.mimetype != "application/json":
        raise ApiError(415, "not_json", "Send a JSON object with Content-Type: application/json.")
    try:
        data = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        raise invalid({"body": "Not valid JSON."}) from None
    fields = {}
    for error in _validator(schema).iter_errors(data):
        if error.validator == "required":
            fields.update({name: "This field is required." for name in error.validator_value if name not in data})
        elif error.validator == "additionalProperties":
            fields.update({name: "Unknown field." for name in data if name not in error.schema["properties"]})
        else:
            fields[str(error.path[0]) if error.path else "body"] = _say(error)
    if not fields:
        fields = {name: "Remove the control characters from this field." for name, value in data.items()
                  if isinstance(value, str) and CONTROL.search(value)}
    if fields:
        raise invalid({name[:100]: reason for name, reason in list(fields.items())[:20]})
    return data


def moment(value, field):
    """An ISO 8601 time with an offset, in UTC, between DATE_MIN and DATE_MAX; else 422 for the field."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise invalid({field: "An ISO 8601 time with an offset, e.g. 2026-03-02T09:00:00+03:00."})
    if not DATE_MIN <= parsed.date() <= DATE_MAX:
        raise invalid({field: f"Between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."})
    return parsed.astimezone(timezone.utc)


def iso(moment_):
    """A UTC time as the API writes it: ISO 8601 with Z."""
    return None if moment_ is None else moment_.isoformat().replace("+00:00", "Z")
