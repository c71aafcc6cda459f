"""The OpenAPI 3.1 document of /api/v1, generated from the routes and their declared models.

Each route carries one ``@documented`` declaration: its query model (the same
``webapp.schemas.params`` model the route, its page and its HTMX partial validate with), its body
model and its response model (``webapp.schemas.api``). spectree walks the Flask URL map and
turns those models into paths, parameters and components, so a route cannot be missing from the
document and a documented parameter cannot differ from the one validated.

Why spectree: it documents plain Flask blueprints with pydantic v2 models and leaves validation
to us (``skip_validation``), so the pages and the API keep one parameter model and one error
shape (400 naming the field and its range). flask-smorest is marshmallow-based; APIFlask and
flask-openapi3 replace the app or blueprint classes and answer invalid input in their own shape.

What the API's conventions imply is added here in one place (:func:`_conventions`): the tag (the
path's first segment), the security (none when public; GETs also take the session), the error
responses (400 with parameters or a body, 401 when protected, 403 for cookie writes without
the CSRF header, 404 with a path id, 422 with a body, 429 always), the id ranges of path
parameters and file media beside JSON. Query parameters are the model's
(``params.query_parameters``, with cross-field limits as ``x-maximum-parameter``, which JSON
Schema cannot state).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import jsonify
from pydantic import BaseModel, RootModel
from spectree import Response, SpecTree

from webapp.schemas.api.common import Error
from webapp.schemas.params import QueryParams, query_parameters

Schema = dict[str, Any]
PREFIX = "/api/v1"
#: Database ids are 32-bit integers (PostgreSQL INTEGER).
ID: Schema = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}
#: A path parameter is a database id unless named here.
PATH_PARAMETERS: dict[str, Schema] = {
    # batch-<run id>-<8 hex>, or the id RQ gave a report job (queueing.enqueue_*).
    "job_id": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"},
}
ERRORS = {
    400: "Invalid parameter (details name the field and the allowed range)",
    401: "Missing, invalid, expired or revoked credentials",
    403: "A write authenticated by the auth_token cookie without the X-CSRF-Token header",
    404: "No such resource (or not yours: another advisor's data is never revealed)",
    409: "Conflict with the current state",
    422: "Validation failed (details.fields maps field to message)",
    503: "The job queue is unreachable; nothing was queued (Retry-After says when to retry)",
}
# GETs: the token (header or auth_token cookie) or the browser session.
READ = [{"bearerAuth": []}, {"authCookie": []}, {"sessionCookie": []}]
# Writes: the bearer token, or the auth_token cookie together with the CSRF header (never the
# browser session: a cookie-borne write needs proof it came from the app's own script).
WRITE = [{"bearerAuth": []}, {"authCookie": [], "csrfHeader": []}]
TAGS = ("auth", "data", "analytics", "export", "system", "management", "modeling", "meta")
SECURITY_SCHEMES: Schema = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "Token from POST /api/v1/auth/login (24 h).",
    },
    "authCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "auth_token",
        "description": "HttpOnly cookie set by POST /api/v1/auth/login and /refresh (the same "
        "token); cleared by /logout. Writes with it also need csrfHeader.",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "The csrf_token of the login response; required for writes "
        "authenticated by the auth_token cookie (else 403 csrf_required).",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "The browser session; GET requests only.",
    },
}
DESCRIPTION = (
    "Portfolio risk analytics for financial advisors. Authenticate with POST /api/v1/auth/login "
    "and send 'Authorization: Bearer <token>'; GET requests also accept the browser session. "
    'Errors: {"error": {code, message, details}}. Analytics without a stored result answer 200 '
    'with {"available": false, "reason"}. Timestamps are UTC ISO 8601 with Z; dates '
    "YYYY-MM-DD; numbers are dollars or decimal fractions (0.05 = 5%) unless named otherwise."
)

_names: dict[str, type] = {}


def _component_name(model: type) -> str:
    """A model's component name: its class name, which must be unique across the API."""
    name = model.__name__
    if _names.setdefault(name, model) is not model:
        raise TypeError(f"two API models are named {name}: {model} and {_names[name]}")
    return name


spec = SpecTree(
    "flask",
    title="SigmaSight API",
    version="1.0.0",
    mode="strict",
    annotations=False,
    naming_strategy=_component_name,
    nested_naming_strategy=lambda _parent, child: child,
    # Our own 400 (parameters) in the error shape; the conventions drop it where nothing
    # can be invalid.
    validation_error_status=400,
    validation_error_model=Error,
)


@dataclass(frozen=True)
class Declared:
    """What the conventions need beyond spectree's metadata, by operation id."""

    summary: str
    ok: type[BaseModel] | None
    query: type[QueryParams] | None
    files: tuple[str, ...]
    errors: tuple[int, ...]
    public: bool
    status: int


_declared: dict[str, Declared] = {}


def documented(
    operation_id: str,
    summary: str,
    ok: type[BaseModel] | None = None,
    *,
    ok_text: str = "OK",
    status: int = 200,
    query: type[QueryParams] | None = None,
    body: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
    files: Sequence[str] = (),
    errors: Sequence[int] = (),
    public: bool = False,
):
    """Declare a route's operation: its models, its success status and its extra errors.

    ``ok`` is the JSON response model (None: no body, or only ``files``: the media types of a
    download); ``errors`` the statuses the conventions do not imply (409 for a clash, say).
    The route still validates its own input (``query_params(query)``, the services' body
    validators): declaring never changes what a request gets.
    """
    if operation_id in _declared:
        raise ValueError(f"operation {operation_id} is declared twice")
    _declared[operation_id] = Declared(
        summary=summary,
        ok=ok,
        query=query,
        files=tuple(files),
        errors=tuple(errors),
        public=public,
        status=status,
    )
    resp = Response(**{f"HTTP_{status}": (ok, ok_text)})
    validate = spec.validate(
        query=query,
        json=body,
        form=form,
        resp=resp,
        operation_id=operation_id,
        skip_validation=True,
    )

    def decorate(view):
        wrapped = validate(view)
        # Carried up by functools.wraps (require_auth): ``common.query_params`` checks that the
        # route parses the very model its document states.
        wrapped.declared = _declared[operation_id]
        return wrapped

    return decorate


def declared(operation_id: str) -> Declared:
    """An operation's declaration (its response model is what the contract tests validate)."""
    return _declared[operation_id]


def document() -> dict:
    """The OpenAPI 3.1 document (built once: it depends only on the code, not on the app)."""
    global _document
    with _document_lock:  # gunicorn threads: the first requests may come together
        if _document is None:
            # spectree lifts nested models out of its registry while generating, so it can
            # generate only once (and ``spec.spec`` would bind the first app for good).
            _document = _finish(spec._generate_spec())  # noqa: SLF001
    return _document


_document: dict | None = None
_document_lock = threading.Lock()


def _finish(generated: dict) -> dict:
    """spectree's document with the API's conventions, info, tags and security schemes."""
    paths = {}
    for path, item in generated["paths"].items():
        paths[path] = {method: _conventions(path, method, op) for method, op in item.items()}
    schemas = {
        name: _untitled(schema) for name, schema in generated["components"]["schemas"].items()
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "SigmaSight API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in TAGS],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _conventions(path: str, method: str, op: dict) -> dict:
    """One operation as the API's conventions make it (module docstring)."""
    declared = _declared[op["operationId"]]
    path_params = [
        {"name": n, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(n, ID)}
        for n in re.findall(r"{(\w+)}", path)
    ]
    query = query_parameters(declared.query) if declared.query else []
    has_body = "requestBody" in op
    implied = {
        400: bool(query) or has_body,
        401: not declared.public,
        403: not declared.public and method != "get",
        404: bool(path_params),
        422: has_body,
    }
    statuses = set(declared.errors) | {s for s, applies in implied.items() if applies}
    ok = op["responses"][str(declared.status)]
    for media in declared.files:
        schema: Schema = {"type": "string"}
        if media != "text/csv":
            schema["contentMediaType"] = media
        ok.setdefault("content", {})[media] = {"schema": schema}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = {
        str(declared.status): ok,
        **{str(s): {"description": ERRORS[s], "content": error} for s in sorted(statuses)},
        "429": {
            "description": "Rate limit exceeded",
            "content": error,
            "headers": {
                "Retry-After": {
                    "required": True,
                    "description": "Seconds until the limit resets",
                    "schema": {"type": "string"},
                }
            },
        },
    }
    out = {
        "summary": declared.summary,
        "tags": [_tag(path)],
        "operationId": op["operationId"],
        "parameters": [*path_params, *query],
        "security": [] if declared.public else READ if method == "get" else WRITE,
        "responses": responses,
    }
    if has_body:
        out["requestBody"] = op["requestBody"]
    if op.get("description"):
        out["description"] = op["description"]
    return out


def _tag(path: str) -> str:
    """The path's first segment (``meta`` for the document itself)."""
    segment = path.removeprefix(PREFIX).split("/")[1]
    return "meta" if "." in segment else segment


def _untitled(schema: Any, in_properties: bool = False) -> Any:
    """A JSON Schema without pydantic's generated titles (property names stay)."""
    if isinstance(schema, dict):
        return {
            k: _untitled(v, k == "properties")
            for k, v in schema.items()
            if in_properties or k != "title" or not isinstance(v, str)
        }
    if isinstance(schema, list):
        return [_untitled(v) for v in schema]
    return schema


class OpenApiDocument(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""


from webapp.api import bp  # noqa: E402 - the blueprint imports this module's users first


@bp.get("/openapi.json")
@documented(
    "openapi_document",
    "This document",
    OpenApiDocument,
    ok_text="OpenAPI 3.1 document",
    public=True,
)
def openapi_document():
    """The OpenAPI 3.1 document of this API (public)."""
    return jsonify(document())
