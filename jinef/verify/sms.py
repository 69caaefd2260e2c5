"""The SMS gateway interface, and the development gateway that writes to an outbox table.

A production gateway (an operator's HTTP API) implements :class:`SmsGateway`. The
development :class:`OutboxGateway` stores each message in ``verify_outbox`` for ``jinef
outbox`` to show; it keeps only a masked recipient, so the table holds no mobile number.
The one-time code is in the message body, as it would be on the phone: this gateway is for
development and tests only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from jinef.verify import mobile as mob
from jinef.verify.store import OutboxMessage, VerifyStore


@dataclass(frozen=True, slots=True)
class Sms:
    """One message to send: canonical mobile, text, what it is for and the id it belongs to."""

    to: str
    body: str
    kind: str  # "verification" or "citizen"
    ref: str  # the request or challenge id


class SmsGateway(Protocol):
    """Anything that can deliver an SMS; raise any exception when it could not."""

    def send(self, sms: Sms) -> None:
        """Deliver one message (or raise)."""


class OutboxGateway:
    """Development gateway: every message goes to the ``verify_outbox`` table, not to a phone."""

    def __init__(self, store: VerifyStore, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, sms: Sms) -> None:
        """Write the message with a masked recipient."""
        message = OutboxMessage(None, self._clock(), mob.mask(sms.to), sms.kind, sms.ref, sms.body)
        with self._store.transaction() as tx:
            tx.add_outbox(message)
