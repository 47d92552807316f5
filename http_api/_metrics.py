"""``GET /metrics``: the node's Prometheus registry in the text exposition format, and the
per-request observation behind ``pitchey_http_request_duration_seconds``.

Requests are labelled by route rule (``/api/pitches/<id:pitch_id>``, not the path, so ids
do not multiply series), method and status; a request no rule matched counts as
``unmatched``. The registry is the node's own (``AppDeps.metrics_registry``); an app without
one serves 404 here and observes nothing.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from quart import Blueprint, Quart, Response, current_app, g, request

from ._context import deps
from ._errors import NotFound

blueprint = Blueprint("metrics", __name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_EXTENSION = "pitchey.http_metrics"


@blueprint.get("/metrics")
async def metrics() -> Response:
    registry = deps().metrics_registry
    if registry is None:
        raise NotFound("This node keeps no metrics.")
    return Response(generate_latest(registry), status=200, content_type=CONTENT_TYPE_LATEST)


def install_metrics(app: Quart, registry: CollectorRegistry | None, node_id: str) -> None:
    """Observe every request of ``app`` into ``registry`` (if any)."""
    if registry is None:
        return
    app.extensions[_EXTENSION] = Histogram(
        "pitchey_http_request_duration_seconds",
        "HTTP requests by route, method and status, with their latency",
        ["node", "route", "method", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    app.extensions[_EXTENSION + ".node"] = node_id
    app.after_request(_observe)


async def _observe(response: Response) -> Response:
    started = getattr(g, "started", None)
    if started is not None:
        histogram: Histogram = current_app.extensions[_EXTENSION]
        route = request.url_rule.rule if request.url_rule else "unmatched"
        histogram.labels(
            current_app.extensions[_EXTENSION + ".node"],
            route,
            request.method,
            str(response.status_code),
        ).observe(time.perf_counter() - started)
    return response
