"""Runner <-> worker messages: msgpack maps, each prefixed with its length (4 bytes, big
endian), over the worker's stdin and stdout."""

from __future__ import annotations

import struct
from typing import Any

import msgpack
import trio

MAX_FRAME = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")


def pack(message: dict[str, Any]) -> bytes:
    body = msgpack.packb(message, use_bin_type=True)
    if len(body) > MAX_FRAME:
        raise ValueError(f"message of {len(body)} bytes is over the {MAX_FRAME} byte limit")
    return _HEADER.pack(len(body)) + body


class FrameReader:
    """Reads whole messages from a byte stream; ``None`` at end of stream."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def receive(self) -> dict[str, Any] | None:
        while True:
            if len(self._buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self._buffer)
                if size > MAX_FRAME:
                    raise ValueError(f"frame of {size} bytes is over the limit")
                end = _HEADER.size + size
                if len(self._buffer) >= end:
                    body = bytes(self._buffer[_HEADER.size : end])
                    del self._buffer[:end]
                    return msgpack.unpackb(body, raw=False, strict_map_key=False)
            chunk = await self._stream.receive_some(1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
