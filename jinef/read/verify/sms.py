"""The SMS gateway interface, an HTTP gateway for production, and the development outbox.

A gateway implements :class:`SmsGateway`. :class:`HttpSmsGateway` posts each message as JSON to an
operator's endpoint (``jinef serve --sms-gateway URL``). The development :class:`OutboxGateway`
stores each message in ``verify_outbox`` for ``jinef outbox`` to show, and only when the hub is
configured for it explicitly (``VerifyConfig.dev_sms_outbox``, ``jinef serve --dev-sms-outbox``):
it keeps a masked recipient (the table holds no mobile number) and the body sealed under the key
ring (:mod:`jinef.read.verify.seal`), so no one-time code is ever in the database in clear. With neither,
the hub refuses to start anything that needs a code (``sms_unavailable``) rather than lose it.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from jinef.common.messages import MessageError, message
from jinef.read.verify import mobile as mob
from jinef.read.verify.store import OutboxMessage, VerifyStore


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


class HttpSmsGateway:
    """An operator's HTTP API: each message is one JSON POST ``{"to", "text", "kind", "ref"}``; any answer but
    2xx (or no answer within ``timeout`` seconds) is a failure the hub reports as ``sms_failed``."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise MessageError(message("sms.not_a_url", url=url))  # a ValueError, in either language
        self.url = url
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:  # never print the token
        return f"HttpSmsGateway({self.url!r})"

    def send(self, sms: Sms) -> None:
        """POST the message; raise unless the gateway accepted it."""
        data = json.dumps({"to": sms.to, "text": sms.body, "kind": sms.kind, "ref": sms.ref}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            if not 200 <= response.status < 300:
                raise OSError(f"the SMS gateway answered {response.status}")  # for the log: the hub says sms_failed


class OutboxGateway:
    """Development gateway: every message goes to the ``verify_outbox`` table, sealed, not to a phone."""

    def __init__(self, store: VerifyStore, seal: Callable[[str], str],
                 clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._seal = seal
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, sms: Sms) -> None:
        """Write the message with a masked recipient and its text sealed (it holds the one-time code)."""
        message = OutboxMessage(None, self._clock(), mob.mask(sms.to), sms.kind, sms.ref, self._seal(sms.body))
        with self._store.transaction() as tx:
            tx.add_outbox(message)
