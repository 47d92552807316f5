"""Liveness and readiness.

``/health`` answers while the process runs. ``/ready`` answers 200 only when PostgreSQL and
Redis both respond, listing each with its round-trip time, and the node reports no problem
of its own (its bus reconnecting to Redis, a drain under way); a load balancer stops
sending traffic on 503. Both keep a top-level ``status`` for probes that only read that.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from ._context import deps
from ._envelope import failure, success

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
async def health() -> tuple[dict[str, Any], int]:
    return {"status": "ok", **success({"status": "ok", "node": deps().node_id})}, 200


@blueprint.get("/ready")
async def ready() -> tuple[dict[str, Any], int]:
    statuses = await deps().storage.check()
    dependencies = {
        s.name: {
            "status": "up" if s.ok else "down",
            "latencyMs": s.latency_ms,
            **({"error": s.error} if s.error else {}),
        }
        for s in statuses
    }
    check = deps().readiness
    own = check() if check is not None else {}
    checks = {n: {"status": "down" if p else "up", **_problem(p)} for n, p in own.items()}
    if all(s.ok for s in statuses) and not any(own.values()):
        data = {"status": "ready", "node": deps().node_id, "dependencies": dependencies}
        body = success({**data, "checks": checks})
        return {"status": "ok", **body}, 200
    down = ", ".join([s.name for s in statuses if not s.ok] + [n for n, p in own.items() if p])
    details = {"dependencies": dependencies, "checks": checks}
    body = failure("not_ready", f"unavailable: {down}", details)
    return {"status": "unavailable", **body}, 503


def _problem(problem: str | None) -> dict[str, str]:
    return {"error": problem} if problem else {}
