"""The single exception type raised by validation, decoding and encoding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._codes import CloseCode, ErrorCode

if TYPE_CHECKING:
    from ._server import ErrorMessage


class ProtocolError(Exception):
    """A frame or message that violates the protocol.

    ``code`` is the stable :class:`ErrorCode` to report, ``message`` a human-readable
    explanation, and ``id`` the client's message id when it could be read from the
    offending frame (so the ``error`` reply can echo it).  ``close_code`` is set when
    the violation is fatal for the connection: the server should send the error and
    then close with that code.
    """

    code: ErrorCode
    message: str
    id: str | int | None
    close_code: CloseCode | None

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        id: str | int | None = None,
        close_code: CloseCode | None = None,
    ) -> None:
        super().__init__(code, message)
        self.code = ErrorCode(code)
        self.message = message
        self.id = id
        self.close_code = close_code

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"ProtocolError({self.code.value!r}, {self.message!r}, id={self.id!r}, "
            f"close_code={self.close_code!r})"
        )

    def to_message(self) -> ErrorMessage:
        """Return the ``error`` server message reporting this error."""
        from ._server import ErrorMessage

        return ErrorMessage(id=self.id, code=self.code, message=self.message[:4096])
