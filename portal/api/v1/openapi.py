"""The OpenAPI 3.1 document of /api/v1. Its request schemas also validate the bodies the API receives."""
from ...i18n import LANGUAGES
from ...inputs import EXTERNAL_ID as EXTERNAL_ID_PATTERN

EXTERNAL_ID = {"type": "string", "pattern": f"^{EXTERNAL_ID_PATTERN}$",
               "description": "your app's id; any other path answers 404"}
MOMENT = {"type": "string", "maxLength": 40, "description": "ISO 8601 with an offset, e.g. 2026-03-02T09:00:00+03:00"}
TEXT = {"type": "string", "minLength": 1}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _json(_ref("Error"), "No token, or an unknown or revoked one"),
    "409": _json(_ref("Error"), "A concurrent request won, or the shift has a cancellation request already"),
    "413": _json(_ref("Error"), "The body is larger than 64 KiB"),
    "415": _json(_ref("Error"), "The body is not JSON"),
    "422": _json(_ref("ValidationError"), "The body or a parameter is invalid; `fields` says which and why"),
}

SCHEMAS = {
    "EmployeeInput": {
        "type": "object", "additionalProperties": False, "required": ["name", "email"],
        "properties": {
            "name": {**TEXT, "maxLength": 120},
            "email": {"type": "string", "minLength": 3, "maxLength": 254},
            "language": {"enum": list(LANGUAGES)},
            "role": {"enum": ["employee", "manager"], "default": "employee"},
            "active": {"type": "boolean", "default": True},
        },
    },
    "Employee": {
        "type": "object", "required": ["external_id", "id", "name", "email", "language", "role", "active"],
        "properties": {
            "external_id": EXTERNAL_ID, "id": {"type": "integer"}, "name": {"type": "string"},
            "email": {"type": "string"}, "language": {"type": ["string", "null"]},
            "role": {"enum": ["employee", "manager"]}, "active": {"type": "boolean"},
        },
    },
    "ShiftInput": {
        "type": "object", "additionalProperties": False, "required": ["employee", "starts_at", "ends_at", "title"],
        "properties": {
            "employee": {"type": "string", "minLength": 1, "maxLength": 254,
                         "description": "the employee's external id, or their email"},
            "starts_at": MOMENT, "ends_at": MOMENT,
            "title": {**TEXT, "maxLength": 160, "description": "what and where, e.g. 'Bar, Nevsky 12'"},
        },
    },
    "Shift": {
        "type": "object", "required": ["external_id", "id", "employee", "starts_at", "ends_at", "title", "status"],
        "properties": {
            "external_id": EXTERNAL_ID, "id": {"type": "integer"},
            "employee": {"type": "object", "required": ["id", "external_id", "email"],
                         "properties": {"id": {"type": "integer"}, "external_id": {"type": ["string", "null"]},
                                        "email": {"type": "string"}}},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "title": {"type": "string"},
            "status": {"enum": ["scheduled", "cancellation_requested", "cancelled"]},
        },
    },
    "Proof": {
        "type": "object",
        "required": ["id", "content_type", "size", "original_filename", "uploaded_at", "thumbnail_url",
                     "thumbnail_expires_at", "download_url", "download_expires_at"],
        "properties": {
            "id": {"type": "integer"}, "content_type": {"type": "string"}, "size": {"type": "integer"},
            "original_filename": {"type": "string"}, "uploaded_at": {"type": "string", "format": "date-time"},
            "thumbnail_url": {"type": "string"}, "thumbnail_expires_at": {"type": "string", "format": "date-time"},
            "download_url": {"type": "string"}, "download_expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "Cancellation": {
        "type": "object",
        "required": ["id", "status", "reason", "shift", "employee", "created_at", "updated_at", "decided_at",
                     "decision_comment", "proofs"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"enum": ["pending", "approved", "rejected", "withdrawn"]},
            "reason": {"type": "string"},
            "shift": {"type": "object", "required": ["id", "external_id"],
                      "properties": {"id": {"type": "integer"}, "external_id": {"type": ["string", "null"]}}},
            "employee": {"type": "object", "required": ["id", "external_id", "email"],
                         "properties": {"id": {"type": "integer"}, "external_id": {"type": ["string", "null"]},
                                        "email": {"type": "string"}}},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "decision_comment": {"type": ["string", "null"]},
            "proofs": {"type": "array", "items": _ref("Proof")},
        },
    },
    "CancellationPage": {
        "type": "object", "required": ["cancellations", "next"],
        "properties": {"cancellations": {"type": "array", "items": _ref("Cancellation")},
                       "next": {"type": ["string", "null"],
                                "description": "pass as `cursor` for the next page; null at the end of the feed"}},
    },
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"],
                                 "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "ValidationError": {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message", "fields"],
            "properties": {"code": {"const": "invalid"}, "message": {"type": "string"},
                           "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}},
    },
}


def _put(name, summary):
    return {
        "summary": summary, "operationId": f"put{name}", "security": [{"token": []}],
        "parameters": [{"name": "external_id", "in": "path", "required": True, "schema": EXTERNAL_ID}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(f"{name}Input")}}},
        "responses": {"200": _json(_ref(name), "Updated"), "201": _json(_ref(name), "Created"),
                      "404": _json(_ref("Error"), "The path's external id is malformed"), **ERRORS},
    }


def _get(name, summary):
    return {
        "summary": summary, "operationId": f"get{name}", "security": [{"token": []}],
        "parameters": [{"name": "external_id", "in": "path", "required": True, "schema": EXTERNAL_ID}],
        "responses": {"200": _json(_ref(name), "Found"),
                      "404": _json(_ref("Error"), "No such external id in the token's business"),
                      "401": ERRORS["401"], "422": ERRORS["422"]},
    }


FEED = {
    "summary": "Cancellation requests changed since a moment, oldest change first, with proof links",
    "operationId": "listCancellations", "security": [{"token": []}],
    "parameters": [
        {"name": "updated_since", "in": "query", "required": False, "schema": MOMENT},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
    ],
    "responses": {"200": _json(_ref("CancellationPage"), "One page of the feed"), "401": ERRORS["401"],
                  "422": ERRORS["422"]},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Shift Proof Portal API", "version": "1.0.0",
             "description": "People and shifts in from the main shift app; cancellation requests with proofs out."},
    "servers": [{"url": "/api/v1"}],
    "paths": {
        "/employees/{external_id}": {"get": _get("Employee", "One employee or manager"),
                                     "put": _put("Employee", "Create or update an employee or manager")},
        "/shifts/{external_id}": {"get": _get("Shift", "One shift"), "put": _put("Shift", "Create or update a shift")},
        "/cancellations": {"get": FEED},
    },
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                      "description": "A business's API token (Settings > API tokens)"}},
    },
}
