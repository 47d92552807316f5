"""Response headers every response gets: CORS for allowed origins, security headers.

CORS: a request whose ``Origin`` is in ``ALLOWED_ORIGINS`` is answered with that origin
and credentials allowed; preflights (``OPTIONS``) also get the methods and headers the API
accepts. Other origins get no CORS headers, so browsers keep the response from them.
"""

from __future__ import annotations

from quart import Response, request

from ._auth import request_is_secure
from ._context import deps

ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"
EXPOSED_HEADERS = (
    "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def add_headers(response: Response) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", DOCS_CSP if request.path == "/docs" else API_CSP)
    if request_is_secure():
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    _add_cors(response)


def _add_cors(response: Response) -> None:
    origin = request.headers.get("Origin", "").rstrip("/")
    response.vary.add("Origin")
    if not origin or origin not in deps().allowed_origins:
        return
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        headers["Access-Control-Max-Age"] = "600"
