"""What the outbox deliverer needs from a ticket system (Jira, or a generic webhook).

Implementations live in ``handlers/tickets.py``; a failure raises ``DeliveryError``
(``retry_after`` for 429, plain for 5xx and network errors, ``permanent`` otherwise).
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

    async def create(self, *, payload: dict[str, Any]) -> CreatedTicket: ...
