"""A short-lived Redis cache for rendered query results, cleared as a whole.

Entries of one namespace live in one Redis hash whose TTL starts when the hash is created,
so nothing is served more than ``ttl`` seconds after it was first cached, and clearing
the namespace (one ``DEL``) drops every entry at once, e.g. when a pitch is published.
"""

from __future__ import annotations

from ._service import Storage

# Set a field; give the hash its TTL only when it has none (EXPIRE NX needs Redis 7).
_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""


async def cache_get(storage: Storage, namespace: str, key: str) -> bytes | None:
    name = storage.key("cache", namespace)
    return await storage.redis(lambda client: client.hget(name, key))


async def cache_put(storage: Storage, namespace: str, key: str, value: bytes, *, ttl: int) -> None:
    name = storage.key("cache", namespace)
    await storage.redis(lambda client: client.eval(_PUT, 1, name, key, value, ttl))


async def cache_clear(storage: Storage, namespace: str) -> None:
    name = storage.key("cache", namespace)
    await storage.redis(lambda client: client.delete(name))
