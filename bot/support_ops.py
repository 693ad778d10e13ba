"""The `/support` subcommands for common requests and triage replies, and what they do.

    /support faq add "question" "answer" · faq list · faq remove 3 · faq on [threshold=85] · off
    /support suggest on [threshold=35] · suggest off · suggest forget <link>
    /support template · template documented "See https://docs…" · template bug off|default

Parsed by ``bot.grammar``; run here so ``bot.commands`` only forwards them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.content import Content

if TYPE_CHECKING:
    from bot.context import CommandContext
    from bot.faq.service import Faq
    from bot.history.service import History
    from bot.triage.service import Triage


@dataclass(frozen=True)
class FaqAdd:
    question: str
    answer: str


@dataclass(frozen=True)
class FaqList:
    pass


@dataclass(frozen=True)
class FaqRemove:
    number: int


@dataclass(frozen=True)
class FaqSwitch:
    enabled: bool
    threshold: int | None = None


@dataclass(frozen=True)
class SuggestSwitch:
    enabled: bool
    threshold: float | None = None
    needs_admin = True


@dataclass(frozen=True)
class SuggestForget:
    link: str


@dataclass(frozen=True)
class TemplateList:
    pass


@dataclass(frozen=True)
class TemplateSet:
    category: str
    text: str | None  # None: back to the default; "": post nothing


OpsCommand = (
    FaqAdd
    | FaqList
    | FaqRemove
    | FaqSwitch
    | SuggestSwitch
    | SuggestForget
    | TemplateList
    | TemplateSet
)
OPS_COMMANDS = (
    FaqAdd,
    FaqList,
    FaqRemove,
    FaqSwitch,
    SuggestSwitch,
    SuggestForget,
    TemplateList,
    TemplateSet,
)

HELP_LINES = (
    '• `/support faq add "question" "answer"`, `/support faq list`, `/support faq remove 3`: '
    "this channel's common requests; `/support faq on [threshold=85]` / `off` (admins): "
    "suggest their answers in the thread of similar new requests",
    "• `/support suggest on [threshold=35]` / `off` (admins): suggest the closest answered "
    "request of this channel's history in the thread of a new one; "
    "`/support suggest forget <link>`: never suggest that thread again",
    '• `/support template [category "reply"|off|default]`: the reply posted when a request is '
    "triaged (message menu → Triage)",
)


class SupportOps:
    def __init__(self, *, faq: Faq, triage: Triage, history: History) -> None:
        self._faq = faq
        self._triage = triage
        self._history = history

    async def run(self, command: OpsCommand, ctx: CommandContext) -> Content:
        where = {"workspace_id": ctx.workspace_id, "channel_id": ctx.channel_id}
        if isinstance(command, FaqAdd):
            return await self._faq.add(
                **where, question=command.question, answer=command.answer, user=ctx.user
            )
        if isinstance(command, FaqList):
            return await self._faq.list(**where)
        if isinstance(command, FaqRemove):
            return await self._faq.remove(**where, number=command.number)
        if isinstance(command, FaqSwitch):
            return await self._faq.configure(
                **where, enabled=command.enabled, threshold=command.threshold
            )
        if isinstance(command, SuggestSwitch):  # admins only: the front door checks
            return await self._history.configure(
                **where, enabled=command.enabled, threshold=command.threshold
            )
        if isinstance(command, SuggestForget):
            return await self._history.forget(**where, link=command.link)
        if isinstance(command, TemplateList):
            return await self._triage.templates(**where)
        return await self._triage.set_template(
            **where, category=command.category, text=command.text, user=ctx.user
        )
