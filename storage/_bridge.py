"""The one crossing from trio into asyncio, with driver errors mapped on the way back.

Everything that talks to asyncpg or redis-py is an asyncio coroutine function defined in
``storage/``; trio code calls it through :func:`call_aio`, once per unit of work (a whole
transaction, a pipeline, a batch), never once per row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import trio_asyncio

from ._errors import map_driver_error

P = ParamSpec("P")
T = TypeVar("T")


async def call_aio(fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run asyncio coroutine function ``fn`` on the node's asyncio loop and await it from trio.

    Requires an open trio-asyncio loop (``open_storage`` opens it). Cancellation on the trio
    side cancels the asyncio task.
    """
    try:
        return await trio_asyncio.aio_as_trio(fn)(*args, **kwargs)
    except Exception as exc:
        mapped = map_driver_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
