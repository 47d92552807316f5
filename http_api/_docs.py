"""``/docs``: the OpenAPI document rendered as one self-contained HTML page.

Rendered on the server from the same document as ``/openapi.json``, with no scripts and
no external assets, so it works offline and under a strict Content-Security-Policy.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import Any

from quart import Blueprint, Response, current_app

blueprint = Blueprint("docs", __name__)

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{background:#1d2330;color:#fff;padding:24px 40px}header p{color:#c9cfdb;max-width:60em}
main{padding:8px 40px 60px;max-width:1100px}h2{margin-top:40px;text-transform:capitalize}
.op{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:12px 0;padding:12px 16px}
.m{display:inline-block;min-width:64px;font-weight:700;font-family:monospace;border-radius:4px;
padding:2px 8px;margin-right:8px;color:#fff;text-align:center}
.get{background:#2f7ad1}.post{background:#2f9d5b}.patch{background:#c9851b}.delete{background:#c9412f}
code,.path{font-family:ui-monospace,monospace}.path{font-weight:600}
table{border-collapse:collapse;margin:6px 0 10px;width:100%;font-size:14px}
th,td{text-align:left;border-bottom:1px solid #eceef2;padding:4px 8px;vertical-align:top}
th{color:#5b6475;font-weight:600}.req{color:#c9412f}.muted{color:#5b6475}
nav a{margin-right:12px}a{color:#2f5fa8}
"""


@blueprint.get("/docs")
async def docs() -> Response:
    document = current_app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    page = render(document)
    return Response(page, content_type="text/html; charset=utf-8")


def render(document: dict[str, Any]) -> str:
    """The HTML page for an OpenAPI document."""
    info = document.get("info", {})
    components = document.get("components", {}).get("schemas", {})
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for path, operations in sorted(document.get("paths", {}).items()):
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag[tag].append((method, path, operation))
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(info.get('title', 'API'))}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{_e(info.get('title', 'API'))} <small>{_e(info.get('version', ''))}"
        f"</small></h1><p>{_e(info.get('description', ''))}</p>"
        "<p>Authenticate with <code>Authorization: Bearer &lt;accessToken&gt;</code> or the "
        "<code>pitchey_access</code> cookie. Machine-readable: "
        "<a style='color:#9cc2ff' href='/openapi.json'>/openapi.json</a>.</p></header><main>",
        "<nav>" + "".join(f"<a href='#tag-{_e(t)}'>{_e(t)}</a>" for t in sorted(by_tag)),
        "<a href='#schemas'>schemas</a></nav>",
    ]
    for tag in sorted(by_tag):
        out.append(f"<h2 id='tag-{_e(tag)}'>{_e(tag)}</h2>")
        for method, path, operation in by_tag[tag]:
            out.append(_operation(method, path, operation))
    out.append("<h2 id='schemas'>Schemas</h2>")
    for name in sorted(components):
        out.append(f"<div class='op' id='schema-{_e(name)}'><b>{_e(name)}</b>")
        out.append(_properties(components[name]))
        out.append("</div>")
    out.append("</main></body></html>")
    return "".join(out)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    parts = [
        f"<div class='op'><span class='m {_e(method)}'>{_e(method.upper())}</span>"
        f"<span class='path'>{_e(path)}</span> <span class='muted'>"
        f"{_e(operation.get('summary', ''))}</span>"
    ]
    if operation.get("description"):
        parts.append(f"<p>{_e(operation['description'])}</p>")
    parameters = operation.get("parameters", [])
    if parameters:
        parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th></tr>")
        for p in parameters:
            required = " <span class='req'>*</span>" if p.get("required") else ""
            parts.append(
                f"<tr><td><code>{_e(p['name'])}</code>{required}</td><td>{_e(p['in'])}</td>"
                f"<td>{_type(p.get('schema', {}))}</td></tr>"
            )
        parts.append("</table>")
    request_body = operation.get("requestBody", {}).get("content", {})
    for media, content in request_body.items():
        parts.append(f"<div class='muted'>body ({_e(media)})</div>")
        parts.append(_properties(content.get("schema", {})))
    for status, response in operation.get("responses", {}).items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        parts.append(f"<div class='muted'>{_e(str(status))} → {_type(schema)}</div>")
    parts.append("</div>")
    return "".join(parts)


def _properties(schema: dict[str, Any]) -> str:
    properties = schema.get("properties")
    if not properties:
        return f"<div>{_type(schema)}</div>"
    required = set(schema.get("required", []))
    rows = ["<table><tr><th>field</th><th>type</th><th>constraints</th></tr>"]
    for name, prop in properties.items():
        mark = " <span class='req'>*</span>" if name in required else ""
        rows.append(
            f"<tr><td><code>{_e(name)}</code>{mark}</td><td>{_type(prop)}</td>"
            f"<td class='muted'>{_e(_constraints(prop))}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"<a href='#schema-{_e(name)}'>{_e(name)}</a>"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(_type(s) for s in schema[key])
    if "const" in schema:
        return f"<code>{_e(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        return " | ".join(f"<code>{_e(json.dumps(v))}</code>" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "properties" in schema:
        return "object " + _properties(schema)
    return _e(str(kind) + (f" ({schema['format']})" if "format" in schema else ""))


def _constraints(schema: dict[str, Any]) -> str:
    keys = ("minLength", "maxLength", "minimum", "maximum", "pattern", "maxItems", "default")
    found = [f"{k}: {schema[k]}" for k in keys if k in schema and schema[k] is not None]
    for option in schema.get("anyOf", []):
        found += [f"{k}: {option[k]}" for k in keys if k in option]
    return ", ".join(found)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
