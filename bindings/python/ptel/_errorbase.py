"""The root of the exception hierarchy (the subclasses are generated)."""

from __future__ import annotations


class PtelError(Exception):
    """An error status of the ptel C core, with its diagnostics.

    Every error status of the core's status table has its own subclass
    (``ptel.InvalidArgumentError``, ``ptel.TraceparentError``, ...; see
    ``ptel.ERRORS_BY_STATUS``), so callers catch either one condition or
    ``PtelError`` as a whole.

    Attributes:
        status: the negative C status code (``ptel.Status``).
        name: the status name without the ``PTEL_`` prefix (``"E_UTF8"``).
        message: the core's English message for the status.
        offset: byte offset into the input where the problem was found, or 0.
        field: protobuf field number involved, or 0.
        reason: the core's detailed reason, or None when it gave none.
    """

    status_code: int = 0

    def __init__(
        self,
        status: int,
        name: str,
        message: str,
        offset: int = 0,
        field: int = 0,
        reason: str | None = None,
    ) -> None:
        self.status = status
        self.name = name
        self.message = message
        self.offset = offset
        self.field = field
        self.reason = reason
        text = f"{message} ({name})"
        if reason:
            text += f": {reason} (at byte {offset}"
            text += f", field {field})" if field else ")"
        super().__init__(text)

    def __reduce__(self) -> tuple[object, ...]:
        return (
            type(self),
            (self.status, self.name, self.message, self.offset, self.field, self.reason),
        )
