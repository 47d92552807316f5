"""The browser side, served as static files: the demo page at ``/`` and its assets under
``/static/demo/``, the browser client (``protocol/browser/``) under ``/static/client/``.

Files are read once, on first use, into a table keyed by URL path; a request for anything
not in the table is 404 (the usual error envelope), so no path can reach outside the two
folders. Responses carry an ETag (``If-None-Match`` gets 304) and ``Cache-Control:
no-cache``. The page's
Content-Security-Policy allows scripts, styles and connections from this origin only, plus
this node's WebSocket listener (another port, so it needs naming).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from quart import Blueprint, Response, request
from quart_schema import hide

import protocol

from ._auth import request_is_secure
from ._context import deps
from ._errors import NotFound

blueprint = Blueprint("site", __name__)

DEMO_DIR = Path(__file__).parent / "demo_site"
CLIENT_DIR = Path(protocol.__file__).parent / "browser"
_MOUNTS = (("/static/demo/", DEMO_DIR), ("/static/client/", CLIENT_DIR))
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".md": "text/markdown; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


_files: dict[str, StaticFile] | None = None


def static_files() -> dict[str, StaticFile]:
    """URL path → file, for every servable file of the two folders."""
    global _files
    if _files is None:
        table: dict[str, StaticFile] = {}
        for prefix, folder in _MOUNTS:
            for path in sorted(folder.rglob("*")):
                kind = _TYPES.get(path.suffix)
                if not path.is_file() or kind is None:
                    continue
                body = path.read_bytes()
                etag = hashlib.sha256(body).hexdigest()[:32]
                table[prefix + path.relative_to(folder).as_posix()] = StaticFile(body, kind, etag)
        _files = table
    return _files


@blueprint.get("/")
@hide
async def index() -> Response:
    response = _serve("/static/demo/index.html")
    response.headers["Content-Security-Policy"] = page_policy()
    return response


@blueprint.get("/static/demo/<path:name>")
@hide
async def demo_asset(name: str) -> Response:
    return _serve("/static/demo/" + name)


@blueprint.get("/static/client/<path:name>")
@hide
async def client_asset(name: str) -> Response:
    return _serve("/static/client/" + name)


def page_policy() -> str:
    """The demo page's CSP: this origin, and the WebSocket origin ``/api/ws/token`` names."""
    connect = "'self'"
    port = deps().ws_port
    if port is not None:
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        connect += f" {'wss' if request_is_secure() else 'ws'}://{host}:{port()}"
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _serve(path: str) -> Response:
    found = static_files().get(path)
    if found is None:
        raise NotFound("No such file.")
    headers = {"ETag": f'"{found.etag}"', "Cache-Control": "no-cache"}
    if found.etag in request.headers.get("If-None-Match", ""):
        return Response(b"", status=304, headers=headers)
    return Response(found.body, content_type=found.content_type, headers=headers)
