"""Domain events reach every subscriber of the deployment, and only of it."""

from __future__ import annotations

import trio

from storage import DomainEvent, open_domain_events, open_storage, publish_domain_event

from support import Servers


async def test_published_event_reaches_a_subscriber(storage) -> None:
    with trio.fail_after(10):
        async with open_domain_events(storage) as events:
            receivers = await publish_domain_event(
                storage, "pitch_updated", {"pitchId": 7, "version": 2}
            )
            event = await events.receive()
    assert receivers >= 1
    assert event == DomainEvent("pitch_updated", {"pitchId": 7, "version": 2})


async def test_other_key_prefixes_do_not_see_the_event(storage, servers: Servers) -> None:
    async with open_storage(
        servers.database_url, servers.redis_url, pool_size=1, key_prefix="elsewhere-test:"
    ) as other:
        with trio.fail_after(10):
            async with open_domain_events(other) as events:
                await publish_domain_event(storage, "nda_changed", {"ndaId": 1})
                await publish_domain_event(other, "nda_changed", {"ndaId": 2})
                event = await events.receive()
    assert event.data == {"ndaId": 2}
