"""The OpenAPI 3 document at ``/openapi.json``, derived by quart-schema from the routes'
models, with what every operation shares added here: the error envelope as the
``default`` response, id path parameters bounded like PostgreSQL's bigint, and the two
ways to authenticate."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from quart import Quart
from quart_schema import OpenAPIProvider, QuartSchema
from werkzeug.routing import IntegerConverter, Map
from werkzeug.routing.rules import Rule

from ._schema import ErrorBody

MAX_ID = 2**63 - 1
_UNDOCUMENTED = ("health.", "docs.", "metrics.")
_REF = "#/components/schemas/{model}"


class IdConverter(IntegerConverter):
    """A positive bigint id in a path (``<id:pitch_id>``); anything else is 404."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)


class PitcheyOpenAPI(OpenAPIProvider):
    _cached: dict[str, Any] | None = None

    def schema(self) -> dict[str, Any]:
        """The document, built once (the routes do not change after start-up)."""
        if self._cached is None:
            self._cached = super().schema()
        return self._cached

    def generate_rules(self) -> Any:
        for rule in super().generate_rules():
            if not rule.endpoint.startswith(_UNDOCUMENTED) and rule.endpoint != "openapi":
                yield rule

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        schema = TypeAdapter(ErrorBody).json_schema(ref_template=_REF, mode="serialization")
        components.update(schema.pop("$defs", {}))
        components["ErrorBody"] = schema
        default = {
            "description": "An error: see `error.code` (validation_error, unauthorized, "
            "forbidden, not_found, conflict, rate_limited, ...).",
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}},
        }
        for operations in paths.values():
            for method, operation in list(operations.items()):
                responses = {str(k): v for k, v in operation["responses"].items()}
                responses["default"] = default
                operations[method] = {**operation, "responses": responses}
        return paths, components

    def build_path_parameter(self, name: str, converter: Any) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        if isinstance(converter, IdConverter):
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        return parameter


def install_openapi(app: Quart) -> QuartSchema:
    """Serve ``/openapi.json`` for ``app`` (call after the routes are registered or
    before: the document is built per request)."""
    return QuartSchema(
        app,
        openapi_path="/openapi.json",
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        info={
            "title": "Pitchey HTTP API",
            "version": "1.0.0",
            "description": "Film and TV pitch marketplace: accounts, pitches, NDAs, "
            "messages and notifications. Every response is an envelope: "
            "`{success: true, data, meta?}` or `{success: false, error: {code, message, "
            "details?}}`.",
        },
        security_schemes={
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearer_format": "JWT"},
            "cookieAuth": {"type": "apiKey", "in_": "cookie", "name": "pitchey_access"},
        },
        security=[{"bearerAuth": []}, {"cookieAuth": []}, {}],
        pydantic_dump_options={"by_alias": True, "mode": "json"},
        openapi_provider_class=PitcheyOpenAPI,
    )
