"""What the outbox deliverer needs from a ticket system (Jira, or a generic webhook).

Implementations live in ``handlers/tickets.py``; a failure raises ``DeliveryError``
(``retry_after`` for 429, plain for 5xx and network errors, ``permanent`` otherwise;
``uncertain`` when the ticket may have been created anyway, e.g. the answer was lost).

Every create carries an idempotency key (the outbox row's); after an uncertain outcome
the deliverer asks again with ``look_first``, and the system is searched for a ticket
carrying that key before a second one is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class CreatedTicket:
    key: str
    url: str


class TicketPort(Protocol):
    name: str

    async def create(
        self, *, payload: dict[str, Any], idempotency_key: str, look_first: bool = False
    ) -> CreatedTicket: ...
