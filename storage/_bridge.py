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


async def call_aio(
    fn: Callable[P, Awaitable[T]],
    *args: P.args,
    loop: trio_asyncio.TrioEventLoop | None = None,
    **kwargs: P.kwargs,
) -> T:
    """Run asyncio coroutine function ``fn`` on an asyncio loop and await it from trio.

    ``loop`` defaults to the innermost open trio-asyncio loop; a :class:`Storage` passes its
    own, because asyncpg and redis-py objects stay bound to the loop that created them.
    Cancellation on the trio side cancels the asyncio task.
    """
    try:
        return await trio_asyncio.aio_as_trio(fn, loop=loop)(*args, **kwargs)
    except Exception as exc:
        mapped = map_driver_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
