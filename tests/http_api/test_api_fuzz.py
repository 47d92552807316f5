"""Schema-driven fuzzing: schemathesis generates requests from ``/openapi.json`` of a live
server and checks every answer: no 5xx, a documented status, the documented content type
and a body that matches the documented schema.

Bounded: ``EXAMPLES`` cases per operation and pass, two passes (ids drawn at random, then
ids of rows that exist), about a thousand requests in all.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import schemathesis
import trio
from api_support import Api
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 12
CEILING = 600.0  # the whole test, both passes (it takes about 30 s on 2 cores)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operations that sign the fuzzing user out run last, so they do not starve the others.
_LAST = ("POST /api/auth/logout", "PATCH /api/users/me")


def _fuzz(
    document: dict[str, Any], base_url: str, headers: dict[str, str], ids: dict[str, int] | None
) -> list[str]:
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.label in _LAST)
    failures: list[str] = []
    for operation in operations:
        known = {name: value for name, value in (ids or {}).items() if name in operation.path}

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(path_parameters=known or None))
        def run(case: Any) -> None:
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # a failing example: report it, keep fuzzing the rest
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:2000]}")
    return failures


async def test_fuzzing_finds_no_server_error_and_no_schema_violation(api: Api) -> None:
    creator = await api.register("creator")
    investor = await api.register("investor")
    pitch = await api.protected_pitch(creator)
    nda = await api.signed_nda(creator, investor, pitch["id"])
    opened = await api.client.post(
        "/api/conversations", json={"userId": investor.id}, headers=creator.auth
    )
    conversation_id = opened.json()["data"]["id"]
    await api.client.post(
        f"/api/conversations/{conversation_id}/messages", json={"body": "hi"}, headers=creator.auth
    )
    notes = await api.client.get("/api/notifications", headers=creator.auth)
    ids = {
        "pitch_id": pitch["id"],
        "nda_id": nda["id"],
        "user_id": investor.id,
        "conversation_id": conversation_id,
        "notification_id": notes.json()["data"][0]["id"],
    }
    document = (await api.client.get("/openapi.json")).json()
    base_url = str(api.client.base_url)
    with trio.fail_after(400):
        failures = await trio.to_thread.run_sync(
            partial(_fuzz, document, base_url, investor.auth, None)
        )
        failures += await trio.to_thread.run_sync(
            partial(_fuzz, document, base_url, creator.auth, ids)
        )
    assert failures == [], "\n\n".join(failures)
