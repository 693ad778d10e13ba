"""The core assembled: database, clock, metrics, channels, desk and commands.

    core = Core(db=Database.connect(url), clock=SystemClock())
    await core.start()

Platform handlers and the CLI build one ``Core`` and talk only to it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import ChangeFeed
from bot.channels import Channels
from bot.clock import Clock
from bot.commands import SupportCommands
from bot.content import Content
from bot.context import Asker
from bot.desk import Desk
from bot.errors import FirstlineError, UsageError
from bot.facts import Fact, Pressed, Reacted
from bot.faq.service import Faq
from bot.frontdoor.router import Answer, Router, Submitted, Where
from bot.history.service import History
from bot.incidents.service import Incidents
from bot.metrics import Metrics
from bot.quality import ladder
from bot.quality.ladder import NextResponseLadder
from bot.reports.service import Reports
from bot.rota.service import Rota
from bot.support_ops import SupportOps
from bot.tickets.service import Tickets
from bot.timer_sweep import TimerSweep
from bot.toil.service import Toil
from bot.triage.service import Triage
from storage import outbox
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import Incident, Timer, WatchedChannel, Workspace

# Desk outcomes that change what the Home tab shows (open requests, figures).
HOME_CHANGES = frozenset({"opened", "responded", "closed", "reopened", "withdrawn"})

log = logging.getLogger(__name__)


class Core:
    def __init__(self, *, db: Database, clock: Clock, metrics: Metrics | None = None) -> None:
        self.db = db
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.changes = ChangeFeed()
        self.timers = TimerSweep(db=db, clock=clock, metrics=self.metrics, changes=self.changes)
        self.channels = Channels(db=db, clock=clock)
        self.desk = Desk(
            db=db, clock=clock, channels=self.channels, metrics=self.metrics, changes=self.changes
        )
        self.reports = Reports(db=db, clock=clock, channels=self.channels, changes=self.changes)
        self.timers.register("request", self._request_timer)
        self.timers.register("reports", self.reports.fire_timer)
        self.timers.register(ladder.KIND, NextResponseLadder(channels=self.channels).fire_timer)
        self.incidents = Incidents(db=db, clock=clock, channels=self.channels, changes=self.changes)
        self.timers.register("incident", self.incidents.fire_timer)
        self.timers.register("handoff", self.incidents.fire_timer)
        self.rota = Rota(db=db, clock=clock, channels=self.channels, changes=self.changes)
        self.timers.register("rota", self._rota_timer)
        self.support = SupportCommands(
            db=db, clock=clock, channels=self.channels, reports=self.reports
        )
        # Support operations (issue 6, part B): they act inside the desk's transactions.
        self.toil = Toil(db=db, clock=clock, channels=self.channels, changes=self.changes)
        self.toil.attach(self.desk)
        self.faq = Faq(db=db, clock=clock, changes=self.changes)
        self.faq.attach(self.desk)
        self.history = History(db=db, clock=clock, channels=self.channels)
        self.history.attach(self.desk)
        self.channels.on_changed(self.faq.forget_settings)
        self.channels.on_changed(self.history.forget_settings)
        self.tickets = Tickets(clock=clock)
        self.tickets.attach(self.desk)
        self.triage = Triage(db=db, clock=clock, changes=self.changes)
        self.support.ops = SupportOps(faq=self.faq, triage=self.triage, history=self.history)
        self.router = Router(
            db=db,
            clock=clock,
            channels=self.channels,
            desk=self.desk,
            support=self.support,
            rota=self.rota,
            incidents=self.incidents,
            reports=self.reports,
            toil=self.toil,
            triage=self.triage,
            history=self.history,
        )

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await upgrade(self.db)
        await self.channels.start()
        await self.incidents.refresh()
        await self.reports.ensure_schedules()

    async def tell(self, *, workspace_id: str, channel: str, user: str, content: Content) -> None:
        """An ephemeral answer to ``user`` in ``channel``, through the outbox."""
        async with self.db.transaction() as session:
            outbox.enqueue(
                session,
                workspace_id=workspace_id,
                destination=channel,
                op="ephemeral",
                payload={**content.to_payload(), "user": user},
                at=self.clock.now(),
            )
        self.changes.committed(session)

    async def listens_to(self, workspace_id: str, channel_id: str) -> bool:
        """Does anything act on messages in this channel (a watch, an incident)? Most messages
        come from channels nobody watches and must cost next to nothing: ``Channels.lookup``
        answers from memory while it is known to be current, and never with a stale miss."""
        return (
            self.incidents.incident_in(workspace_id, channel_id) is not None
            or await self.channels.lookup(workspace_id, channel_id) is not None
        )

    def ignores_channel(self, channel_id: str) -> bool:
        """Certainly nothing acts on messages in ``channel_id``, in any workspace: the
        server drops such events before the framework's per-event work. False means "not
        certain" (the event takes the usual way, where ``listens_to`` decides exactly)."""
        return self.channels.surely_unwatched(channel_id) and not self.incidents.any_in(channel_id)

    async def route(self, fact: Fact, *, event_key: str | None) -> None:
        """One listener per event type (Bolt runs only the first): fan out here."""
        if (
            isinstance(fact, Reacted)
            or self.incidents.incident_in(fact.workspace_id, fact.channel_id) is not None
        ):
            await self.incidents.handle(fact, event_key=event_key)
        outcome = await self.desk.handle(fact, event_key=event_key)
        if outcome.what in HOME_CHANGES:
            await self.reports.changed(fact.workspace_id)

    async def _request_timer(self, session: AsyncSession, timer: Timer, now: datetime) -> str:
        """An escalation step; a breach changes the figures Home and the error budget show."""
        outcome = await self.desk.fire_timer(session, timer, now)
        if timer.step == "breach" and outcome == "sent":
            await self.reports.mark_changed(session, workspace_id=timer.workspace_id, now=now)
        return outcome

    async def _rota_timer(self, session: AsyncSession, timer: Timer, now: datetime) -> str:
        """A rota step; a new support week changes who Home shows on support."""
        outcome = await self.rota.fire_timer(session, timer, now)
        await self.reports.mark_changed(session, workspace_id=timer.workspace_id, now=now)
        return outcome

    async def command(
        self, *, group: str, text: str, where: Where, asker: Asker | None = None
    ) -> Answer:
        """A command from any platform, through the front door; never raises for bad input."""
        asker = asker or Asker()
        try:
            return await self.router.command(group=group, text=text, where=where, asker=asker)
        except FirstlineError as error:
            return Answer(Content(text=error.message))

    async def press(self, pressed: Pressed, *, asker: Asker | None = None) -> Answer:
        """A button, from either platform, through the front door; the presser gets the
        answer privately (Slack: ephemeral; Teams: 1:1), unless a dialog opens instead."""
        asker = asker or Asker()
        try:
            answer = await self.router.press(pressed, asker=asker)
        except FirstlineError as error:
            answer = Answer(Content(text=error.message), refused=True)
        content, here, user = answer.content, pressed.channel_id, pressed.user
        if answer.dialog is None and content is not None and content.text and here and user:
            await self.tell(
                workspace_id=pressed.workspace_id, channel=here, user=user, content=content
            )
        return answer

    async def submit(self, submitted: Submitted, *, asker: Asker | None = None) -> Answer:
        """A dialog's submission; the platform shows a refusal inside the dialog, and what
        it did is told to the person privately, as a button's answer is."""
        try:
            answer = await self.router.submit(submitted, asker=asker or Asker())
        except FirstlineError as error:
            return Answer(Content(text=error.message), refused=True)
        content = answer.content
        if not answer.refused and content is not None and content.text and submitted.channel_id:
            await self.tell(
                workspace_id=submitted.workspace_id,
                channel=submitted.channel_id,
                user=submitted.user,
                content=content,
            )
        return answer

    async def close(self) -> None:
        await self.channels.stop()
        await self.db.close()

    async def remember_workspace(
        self, *, workspace_id: str, name: str, url: str, bot_user_id: str, platform: str = "slack"
    ) -> None:
        async with self.db.transaction() as session:
            row = await session.get(Workspace, workspace_id)
            if row is None:
                row = Workspace(id=workspace_id, platform=platform, created_at=self.clock.now())
                session.add(row)
            row.name, row.url, row.bot_user_id = name, url, bot_user_id

    async def workspace_url(self, workspace_id: str) -> str | None:
        async with self.db.reading() as session:
            row = await session.get(Workspace, workspace_id)
            return row.url if row is not None and row.url else None

    async def incident_workspace(self, incident_id: int) -> str | None:
        async with self.db.reading() as session:
            row = await session.get(Incident, incident_id)
            return row.workspace_id if row is not None else None

    async def default_workspace(self, given: str | None = None) -> str:
        """The workspace a CLI command means: the one given, or the only one known."""
        if given:
            return given
        async with self.db.reading() as session:
            known = await session.scalars(select(Workspace.id))
            watched = await session.scalars(select(WatchedChannel.workspace_id).distinct())
            ids = sorted(set(known.all()) | set(watched.all()))
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise UsageError(
                "No workspace is known yet. Name it with --workspace T… (your Slack team id), "
                "or start `firstline serve` once so Firstline learns it."
            )
        raise UsageError(
            f"Several workspaces are known ({', '.join(ids)}); name one with --workspace."
        )

    def now(self) -> datetime:
        return self.clock.now()
