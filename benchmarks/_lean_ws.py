"""The client side of RFC 6455, reduced to what the benchmark needs.

Plain non-blocking sockets, no library: an upgrade request and its check, masked client
frames, and a splitter for the server's frames, which both servers under test send unmasked
and unfragmented. One :class:`Conn` per connection, with ``__slots__`` and nothing else, so a
worker process holds hundreds of them cheaply.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUBPROTOCOL = "pitchey.v1.msgpack"
BINARY, CLOSE, PING, PONG = 0x2, 0x8, 0x9, 0xA

# connection states
HANDSHAKE, WELCOME, JOINING, READY, CLOSED = range(5)


class Conn:
    """One client connection: its socket, parse buffer, pending output and counters."""

    __slots__ = ("buf", "chats", "fd", "inflight", "key", "out", "pub", "sock", "state")

    def __init__(self, sock: socket.socket, pub: int) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.key = base64.b64encode(os.urandom(16))
        self.pub = pub  # publisher number, or -1
        self.state = HANDSHAKE
        self.buf = b""
        self.out = b""
        self.chats = 0  # chat messages received in the current phase
        self.inflight = 0  # own chat messages sent and not yet received back


def upgrade_request(conn: Conn, port: int, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {conn.key.decode()}\r\n"
        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
    ).encode()


def upgrade_response(conn: Conn, data: bytes) -> tuple[str | None, bytes] | None:
    """Feed response bytes: None while incomplete, else (refusal or None, bytes after it)."""
    conn.buf += data
    end = conn.buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head, rest = conn.buf[:end].decode("latin-1"), conn.buf[end + 4 :]
    conn.buf = b""
    accept = base64.b64encode(hashlib.sha1(conn.key + _GUID).digest()).decode()
    if head.startswith("HTTP/1.1 101") and accept in head:
        return None, rest
    return head.split("\r\n", 1)[0] + " " + rest[:80].decode("latin-1"), b""


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """One client frame (FIN set, masked with a fresh key as RFC 6455 requires)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
    key = os.urandom(4)
    stream = (key * (n // 4 + 1))[:n]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")
    return head + key + masked.to_bytes(n, "little")


def split_frames(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The complete (opcode, payload) frames at the start of ``buf``, and the rest."""
    frames = []
    pos, n = 0, len(buf)
    while n - pos >= 2:
        length, head = buf[pos + 1] & 0x7F, 2
        if length == 126:
            if n - pos < 4:
                break
            length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            if n - pos < 10:
                break
            length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
        end = pos + head + length
        if end > n:
            break
        frames.append((buf[pos] & 0x0F, buf[pos + head : end]))
        pos = end
    return frames, buf[pos:]


def chat_body(intended_ns: int, publisher: int) -> str:
    """A chat body carrying its intended send time and publisher, padded to 60 chars."""
    return f"{intended_ns:019d} {publisher:05d} " + "x" * 34
