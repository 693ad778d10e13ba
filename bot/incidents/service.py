"""Incidents: declared, run and resolved in their own channel, roles changing hands explicitly.

    reply = await incidents.run(Declare("Checkout fails", "sev2"), ctx)

Every change commits with its timeline entry and everything it says (ticket edit, topic,
handoff message) in one transaction; the channel is created through the outbox, and the
incident learns its id when Slack answers (``channel_created``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import ChangeFeed
from bot.channels import Channels
from bot.clock import Clock
from bot.content import Content, button_id
from bot.context import CommandContext
from bot.durations import format_duration
from bot.errors import UsageError
from bot.facts import Fact, Posted, Reacted, truncate
from bot.incidents import commands as cmd
from bot.incidents import messaging as say
from bot.incidents.phrases import DEFAULT_ROLES, detect_handoff
from bot.incidents.postmortem import (
    ActionItem,
    HandoffRecord,
    PostmortemData,
    RoleSpan,
    TimelineItem,
    render_postmortem,
)
from bot.outgoing import say as enqueue_say
from bot.people import Directory
from storage import inbox, outbox, timers
from storage.engine import Database
from storage.models import (
    Handoff,
    Incident,
    IncidentAction,
    IncidentMessage,
    IncidentWhy,
    OutboxMessage,
    Request,
    RoleAssignment,
    TimelineEntry,
    Workspace,
)

HANDOFF_TIMEOUT = timedelta(minutes=10)
UPDATE_EVERY = {
    "sev1": timedelta(minutes=15),
    "sev2": timedelta(minutes=30),
    "sev3": timedelta(minutes=30),
    "sev4": timedelta(minutes=60),
}
RECENT = timedelta(days=14)
LINK_LOOK_BACK = timedelta(days=1)
_SLUG = re.compile(r"[^a-z0-9]+")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def channel_name(title: str, at: datetime) -> str:
    # Letters with accents keep their base letter ("Überweisungen" → "uberweisungen"),
    # since Slack channel names are lower-case ASCII and dropping them garbles words.
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _SLUG.sub("-", ascii_title.lower()).strip("-")[:50].strip("-") or "incident"
    return f"inc-{at:%Y%m%d}-{slug}"


def _channel_key(incident_id: int) -> str:
    return f"inc:{incident_id}:channel"


def _ticket_key(incident_id: int) -> str:
    return f"inc:{incident_id}:ticket"


@dataclass(frozen=True)
class Outcome:
    what: str
    incident_id: int | None = None


class Incidents:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        channels: Channels,
        changes: ChangeFeed,
        roles: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.roles = roles or dict(DEFAULT_ROLES)
        self._db = db
        self._clock = clock
        self._channels = channels
        self._changes = changes
        self._view: dict[tuple[str, str], int] = {}
        self._channel_ids: frozenset[str] | None = None  # the view's channels; None: stale
        self.directory = Directory()  # names for the postmortem file; the server sets it

    # -- the channel view -------------------------------------------------------------

    def incident_in(self, workspace_id: str, channel_id: str) -> int | None:
        return self._view.get((workspace_id, channel_id))

    def any_in(self, channel_id: str) -> bool:
        """Is ``channel_id`` some workspace's incident channel (as this view knows)?"""
        ids = self._channel_ids
        if ids is None:
            ids = self._channel_ids = frozenset(channel for _, channel in self._view)
        return channel_id in ids

    async def refresh(self) -> None:
        async with self._db.reading() as session:
            rows = await session.execute(
                select(Incident.id, Incident.workspace_id, Incident.channel_id).where(
                    Incident.channel_id.is_not(None)
                )
            )
            self._view = {(ws, ch): i for i, ws, ch in rows if ch}
            self._channel_ids = None

    async def channel_created(self, session: AsyncSession, row: OutboxMessage) -> None:
        """Outbox hook: Slack created the incident channel; remember it, announce it."""
        if not str(row.key).endswith(":channel"):
            return
        incident_id = int(str(row.key).split(":")[1])
        incident = await session.get(Incident, incident_id)
        if incident is None or row.platform_channel is None:
            return
        incident.channel_id = row.platform_channel
        # Slack may have given another name than asked (inc-…-2 when the first was taken).
        incident.channel_name = str(row.payload.get("created_name") or incident.channel_name)
        self._view[(incident.workspace_id, row.platform_channel)] = incident.id
        self._channel_ids = None
        if incident.announce_channel:
            self._say(
                session,
                incident,
                destination=incident.announce_channel,
                op="post",
                content=say.announcement(
                    channel_id=row.platform_channel,
                    title=incident.title,
                    severity=incident.severity,
                    declared_by=incident.declared_by,
                ),
            )

    # -- commands ---------------------------------------------------------------------

    async def run(self, command: cmd.IncidentCommand, ctx: CommandContext) -> Content:
        if isinstance(command, cmd.IncidentHelp):
            return Content(text=cmd.HELP)
        if isinstance(command, cmd.ListIncidents):
            return await self._list(ctx)
        if isinstance(command, cmd.Declare):
            source = None
            if command.source is not None:
                async with self._db.reading() as session:
                    text = await session.scalar(
                        select(Request.text).where(
                            Request.workspace_id == ctx.workspace_id,
                            Request.channel_id == command.source[0],
                            Request.ts == command.source[1],
                        )
                    )
                source = (*command.source, text or "")
            return await self.declare(
                workspace_id=ctx.workspace_id,
                user=ctx.user,
                title=command.title,
                severity=command.severity,
                where=ctx.channel_id,
                source=source,
            )
        incident_id = self.incident_in(ctx.workspace_id, ctx.channel_id)
        if incident_id is None:
            raise UsageError(
                "Run this inside the incident's channel (#inc-…). /incident list shows them."
            )
        # Names for the postmortem file, asked of the platform before the transaction.
        names = await self._names(incident_id) if isinstance(command, cmd.Resolve) else {}
        async with self._db.transaction() as session:
            incident = await session.get(Incident, incident_id, with_for_update=True)
            assert incident is not None
            if incident.status == "resolved" and not isinstance(command, cmd.Note):
                raise UsageError("This incident is resolved; only /incident note still works here.")
            reply = await self._apply(session, incident, command, ctx, names=names)
        self._changes.committed(session)
        return reply

    async def _apply(
        self,
        session: AsyncSession,
        incident: Incident,
        command: cmd.IncidentCommand,
        ctx: CommandContext,
        *,
        names: dict[str, str],
    ) -> Content:
        now = self._clock.now()
        user = ctx.user
        if isinstance(command, cmd.SetSection):
            sections = dict(incident.sections or {})
            sections[command.section] = command.text
            incident.sections = sections
            label = cmd.SECTIONS[command.section]
            self._timeline(session, incident, now, user, "ticket", f"{label}: {command.text}")
            await self._edit_ticket(session, incident)
            return Content(text=f"Ticket updated: {label}.")
        if isinstance(command, cmd.AddAction):
            number = len(await self._actions(session, incident)) + 1
            session.add(
                IncidentAction(
                    incident_id=incident.id, number=number, text=command.text, owner=command.owner
                )
            )
            await session.flush()
            owner = f" (<@{command.owner}>)" if command.owner else ""
            self._timeline(
                session, incident, now, user, "action", f"Action {number}: {command.text}{owner}"
            )
            await self._edit_ticket(session, incident)
            return Content(text=f"Action {number} added{owner}.")
        if isinstance(command, cmd.ActionDone):
            actions = await self._actions(session, incident)
            action = next((a for a in actions if a.number == command.number), None)
            if action is None:
                raise UsageError(
                    f"There is no action {command.number}; the ticket lists 1 to {len(actions)}."
                    if actions
                    else 'There are no actions yet: /incident action add "…" @owner'
                )
            if action.done_at is None:
                action.done_at = now
                self._timeline(
                    session,
                    incident,
                    now,
                    user,
                    "action",
                    f"Action {action.number} done: {action.text}",
                )
                await self._edit_ticket(session, incident)
            return Content(text=f"Action {action.number} is done.")
        if isinstance(command, cmd.AddWhy):
            number = len(await self._whys(session, incident)) + 1
            session.add(IncidentWhy(incident_id=incident.id, number=number, text=command.text))
            await session.flush()
            self._timeline(session, incident, now, user, "ticket", f"Why {number}: {command.text}")
            await self._edit_ticket(session, incident)
            return Content(text=f"Why {number} recorded.")
        if isinstance(command, cmd.SetSeverity):
            if command.severity == incident.severity:
                return Content(text=f"It is already {command.severity.upper()}.")
            old, incident.severity = incident.severity, command.severity
            self._timeline(
                session,
                incident,
                now,
                user,
                "severity",
                f"Severity {old.upper()} → {command.severity.upper()}",
            )
            await self._edit_ticket(session, incident)
            await self._topic(session, incident)
            await self._schedule_nudge(
                session, incident, due=incident.last_update_at + UPDATE_EVERY[incident.severity]
            )
            return Content(text=f"Severity is now {command.severity.upper()}.")
        if isinstance(command, cmd.AssignRole):
            holders = await self.holders(session, incident)
            if holders.get(command.role) == command.user:
                raise UsageError(
                    f"<@{command.user}> already holds {command.role}; nothing changed."
                )
            await self._assign(
                session,
                incident,
                role=command.role,
                user=command.user,
                via="command",
                by=user,
                now=now,
            )
            return Content(text=f"<@{command.user}> is now {command.role}.")
        if isinstance(command, cmd.RequestHandoff):
            handoff = await self._request_handoff(
                session,
                incident,
                role=command.role,
                taker=command.user,
                by=user,
                note=command.note,
                now=now,
            )
            return Content(
                text=f"Asked <@{handoff.taker}> to confirm taking over as {handoff.role}."
            )
        if isinstance(command, cmd.Note):
            self._timeline(session, incident, now, user, "note", command.text)
            return Content(text="Added to the timeline.")
        if isinstance(command, cmd.Update):
            self._timeline(session, incident, now, user, "update", command.text)
            self._say(
                session,
                incident,
                destination=self._here(incident),
                op="post",
                content=Content(text=f"📣 *Update* from <@{user}>: {command.text}"),
            )
            await self._updated(session, incident, now)
            return Content(text="Update posted and added to the timeline.")
        if isinstance(command, cmd.Resolve):
            return await self._resolve(
                session, incident, summary=command.summary, by=user, now=now, names=names
            )
        raise UsageError("I don't know that command. Type /incident help.")

    async def declare(
        self,
        *,
        workspace_id: str,
        user: str,
        title: str,
        severity: str,
        where: str,
        source: tuple[str, str, str] | None = None,
    ) -> Content:
        """Open an incident (from a command, or from a message: ``source`` = channel, ts, text)."""
        now = self._clock.now()
        watched = await self._channels.lookup(workspace_id, where)
        announce = where if watched is not None else self._support_channel(workspace_id)
        async with self._db.transaction() as session:
            if source is not None:
                existing = await session.scalar(
                    select(Incident).where(
                        Incident.workspace_id == workspace_id,
                        Incident.source_channel == source[0],
                        Incident.source_ts == source[1],
                    )
                )
                if existing is not None:
                    link = (
                        f"<#{existing.channel_id}>"
                        if existing.channel_id
                        else existing.channel_name
                    )
                    raise UsageError(f"An incident was already declared from that message: {link}.")
            incident = Incident(
                workspace_id=workspace_id,
                channel_name=channel_name(title, now),
                announce_channel=announce,
                title=title,
                severity=severity,
                status="open",
                declared_by=user,
                declared_at=now,
                source_channel=source[0] if source else None,
                source_ts=source[1] if source else None,
                source_text=truncate(source[2]) if source else None,
                sections={},
                last_update_at=now,
                nudge_seq=0,
            )
            session.add(incident)
            await session.flush()
            here = self._here(incident)
            self._say(
                session,
                incident,
                destination=here,
                op="create_channel",
                payload={"name": incident.channel_name},
                key=_channel_key(incident.id),
            )
            invited = [user, *self._support_pair(workspace_id, where)]
            self._say(session, incident, destination=here, op="invite", payload={"users": invited})
            await self._assign(
                session,
                incident,
                role="commander",
                user=user,
                via="declare",
                by=user,
                now=now,
                quiet=True,
            )
            self._timeline(
                session, incident, now, user, "declared", f"Declared {severity.upper()}: {title}"
            )
            holders = await self.holders(session, incident)
            self._say(
                session,
                incident,
                destination=here,
                op="post",
                content=say.welcome(
                    title=title, declared_by=user, holders=holders, roles=list(self.roles)
                ),
            )
            self._say(
                session,
                incident,
                destination=here,
                op="post",
                content=await self._ticket(session, incident),
                key=_ticket_key(incident.id),
            )
            self._say(
                session, incident, destination=here, op="pin", ref_key=_ticket_key(incident.id)
            )
            await self._topic(session, incident)
            await self._schedule_nudge(session, incident, due=now + UPDATE_EVERY[severity])
            offer = None
            if source is None and watched is not None and watched.kind == "requests":
                offer = await self._latest_open_request(session, workspace_id, where, now)
        self._changes.committed(session)
        declared = (
            f"🔥 Declared *{title}* ({severity.upper()}): creating "
            f"#{incident.channel_name} and inviting the support pair. You are the commander "
            "until you hand it over."
        )
        if offer is None:
            return Content(text=declared)
        linkable = say.link_offer(
            incident_id=incident.id, request_id=offer.id, requester=offer.requester, text=offer.text
        )
        return Content(text=f"{declared}\n{linkable.text}", buttons=linkable.buttons)

    async def _latest_open_request(
        self, session: AsyncSession, workspace_id: str, channel_id: str, now: datetime
    ) -> Request | None:
        """The request an incident declared by command most likely came from: the latest
        one still open in the channel, from the last day."""
        return await session.scalar(
            select(Request)
            .where(
                Request.workspace_id == workspace_id,
                Request.channel_id == channel_id,
                Request.closed_at.is_(None),
                Request.deleted.is_(False),
                Request.posted_at >= now - LINK_LOOK_BACK,
            )
            .order_by(Request.posted_at.desc(), Request.id.desc())
            .limit(1)
        )

    async def _link_request(self, *, value: str, user: str, workspace_id: str) -> Content:
        """ "Link this request": the incident's ticket starts with that request."""
        ident_text, _, request_text = value.partition(":")
        ident, request_id = button_id(ident_text), button_id(request_text)
        if ident is None or request_id is None:
            return Content(text="This button has nothing attached.")
        now = self._clock.now()
        async with self._db.transaction() as session:
            incident = await session.get(Incident, ident, with_for_update=True)
            request = await session.get(Request, request_id)
            if (
                incident is None
                or request is None
                or incident.workspace_id != workspace_id
                or request.workspace_id != workspace_id
            ):
                return Content(text="That incident or request no longer exists.")
            if incident.source_ts is not None:
                return Content(text="The ticket already starts with its original request.")
            other = await session.scalar(
                select(Incident.id).where(
                    Incident.workspace_id == workspace_id,
                    Incident.source_channel == request.channel_id,
                    Incident.source_ts == request.ts,
                )
            )
            if other is not None:  # a request starts one incident's ticket at most
                return Content(
                    text=f"That request already starts the ticket of incident {other}; "
                    "nothing changed."
                )
            incident.source_channel, incident.source_ts = request.channel_id, request.ts
            incident.source_text = truncate(request.text)
            self._timeline(
                session,
                incident,
                now,
                user,
                "ticket",
                "Original request linked",
                channel=request.channel_id,
                ts=request.ts,
            )
            await self._edit_ticket(session, incident)
        self._changes.committed(session)
        return Content(text="Linked: the ticket now starts with that request.")

    # -- messages, reactions and buttons --------------------------------------------------

    async def handle(self, fact: Fact, *, event_key: str | None) -> Outcome:
        """A message or reaction in an incident channel, or a :fire: on a watched request."""
        if (
            isinstance(fact, Reacted)
            and fact.added
            and fact.emoji.split("::")[0] == "fire"
            and await self._channels.lookup(fact.workspace_id, fact.channel_id) is not None
        ):
            return await self._offer_declare(fact, event_key=event_key)
        incident_id = self.incident_in(fact.workspace_id, fact.channel_id)
        if incident_id is None:
            return Outcome("not_incident")
        now = self._clock.now()
        async with self._db.transaction() as session:
            if event_key is not None and not await inbox.record(
                session, key=f"{event_key}:incident", at=now
            ):
                return Outcome("duplicate", incident_id)
            incident = await session.get(Incident, incident_id, with_for_update=True)
            assert incident is not None
            outcome = await self._incident_fact(session, incident, fact, now)
        self._changes.committed(session)
        return outcome

    async def _incident_fact(
        self, session: AsyncSession, incident: Incident, fact: Fact, now: datetime
    ) -> Outcome:
        if isinstance(fact, Posted) and fact.is_human and fact.user:
            session.add(
                IncidentMessage(
                    incident_id=incident.id,
                    ts=fact.ts,
                    at=fact.at,
                    user=fact.user,
                    text=truncate(fact.text),
                )
            )
            holders = await self.holders(session, incident)
            if (
                incident.status == "open"
                and holders.get("commander") == fact.user
                and not fact.is_reply
            ):
                await self._updated(session, incident, fact.at)
            intent = (
                detect_handoff(fact.text, speaker=fact.user, roles=self.roles)
                if incident.status == "open"
                else None
            )
            if intent is None or holders.get(intent.role) == intent.taker:
                return Outcome("message", incident.id)
            handoff = Handoff(
                incident_id=incident.id,
                role=intent.role,
                giver=holders.get(intent.role),
                taker=intent.taker,
                note="",
                requested_by=fact.user,
                requested_at=now,
                status="pending",
            )
            await self._replace_pending(session, incident, intent.role)
            session.add(handoff)
            await session.flush()
            self._say(
                session,
                incident,
                destination=self._here(incident),
                op="ephemeral",
                payload={"user": intent.taker},
                content=say.handoff_prompt(
                    handoff_id=handoff.id,
                    role=intent.role,
                    giver=handoff.giver,
                    taker=intent.taker,
                    phrase=intent.phrase,
                ),
            )
            return Outcome("handoff_prompted", incident.id)
        if isinstance(fact, Reacted) and fact.added and fact.emoji.split("::")[0] == "pushpin":
            said = await session.scalar(
                select(IncidentMessage).where(
                    IncidentMessage.incident_id == incident.id, IncidentMessage.ts == fact.item_ts
                )
            )
            text = said.text if said else "(a message from before Firstline saw this channel)"
            who = said.user if said else fact.user
            self._timeline(
                session,
                incident,
                fact.at,
                who,
                "pinned",
                text,
                channel=fact.channel_id,
                ts=fact.item_ts,
            )
            return Outcome("timeline", incident.id)
        return Outcome("ignored", incident.id)

    async def press(
        self, *, action_id: str, value: str, user: str, workspace_id: str, channel_id: str
    ) -> Content | None:
        """A button on an incident message; returns what to tell the presser (ephemeral)."""
        if action_id == say.LINK_REQUEST:
            return await self._link_request(value=value, user=user, workspace_id=workspace_id)
        if action_id == say.DECLARE_FROM_MESSAGE:
            source_channel, _, ts = value.partition(":")
            async with self._db.reading() as session:
                request = await session.scalar(
                    select(Request).where(
                        Request.workspace_id == workspace_id,
                        Request.channel_id == source_channel,
                        Request.ts == ts,
                    )
                )
            text = request.text if request else ""
            title = (text.splitlines() or ["Incident"])[0][:80] or "Incident"
            return await self.declare(
                workspace_id=workspace_id,
                user=user,
                title=title,
                severity="sev3",
                where=source_channel,
                source=(source_channel, ts, text),
            )
        ident_text, _, minutes_text = value.partition(":")
        ident, minutes = button_id(ident_text), button_id(minutes_text or "15")
        if ident is None or minutes is None or not 1 <= minutes <= 24 * 60:
            return Content(text="This button has nothing attached.")
        now = self._clock.now()
        async with self._db.transaction() as session:
            if action_id in (say.CONFIRM_HANDOFF, say.DECLINE_HANDOFF):
                reply = await self._answer_handoff(
                    session,
                    ident,
                    user=user,
                    accept=action_id == say.CONFIRM_HANDOFF,
                    now=now,
                    workspace_id=workspace_id,
                )
            elif action_id == say.SNOOZE:
                incident = await session.get(Incident, ident, with_for_update=True)
                if (
                    incident is None
                    or incident.workspace_id != workspace_id
                    or incident.status != "open"
                ):
                    reply = Content(text="This incident is resolved; nothing to snooze.")
                else:
                    await self._schedule_nudge(
                        session, incident, due=now + timedelta(minutes=minutes)
                    )
                    self._timeline(
                        session,
                        incident,
                        now,
                        user,
                        "nudge",
                        f"Update reminder snoozed {minutes} min",
                    )
                    reply = Content(text=f"Snoozed: next reminder in {minutes} minutes.")
            else:
                reply = Content(text="Unknown button.")
        self._changes.committed(session)
        return reply

    async def _answer_handoff(
        self,
        session: AsyncSession,
        handoff_id: int,
        *,
        user: str,
        accept: bool,
        now: datetime,
        workspace_id: str,
    ) -> Content:
        handoff = await session.get(Handoff, handoff_id, with_for_update=True)
        incident = await session.get(Incident, handoff.incident_id) if handoff else None
        if handoff is None or incident is None or incident.workspace_id != workspace_id:
            return Content(text="That handoff no longer exists.")
        if handoff.status != "pending":
            return Content(text="This handoff was already settled; nothing changed.")
        incident = await session.get(Incident, handoff.incident_id, with_for_update=True)
        assert incident is not None
        if incident.status != "open":
            return Content(text="The incident is resolved; nothing changed.")
        await timers.cancel(session, subject=f"handoff:{handoff.id}", at=now, outcome="answered")
        if not accept:
            handoff.status = "declined"
            self._timeline(
                session,
                incident,
                now,
                user,
                "handoff",
                f"<@{user}> declined taking over as {handoff.role}",
            )
            return Content(text="Declined: the role stays where it is.")
        handoff.status = "done"
        handoff.confirmed_at = now
        await self._assign(
            session, incident, role=handoff.role, user=user, via="handoff", by=user, now=now
        )
        took = (now - handoff.requested_at).total_seconds()
        done = say.handoff_done(
            role=handoff.role, taker=user, giver=handoff.giver, at=now, took=took
        )
        key = f"inc:{incident.id}:handoff:{handoff.id}"
        if await outbox.referenced(session, key) is not None:
            self._say(
                session,
                incident,
                destination=self._here(incident),
                op="update",
                content=done,
                ref_key=key,
            )
        else:
            self._say(session, incident, destination=self._here(incident), op="post", content=done)
        return Content(text=f"You are now {handoff.role}.")

    # -- timers -------------------------------------------------------------------------

    async def fire_timer(self, session: AsyncSession, timer: Any, now: datetime) -> str:
        kind, _, ident = timer.subject.partition(":")
        if kind == "handoff":
            handoff = await session.get(Handoff, int(ident))
            if handoff is None or handoff.status != "pending":
                return "answered"
            incident = await session.get(Incident, handoff.incident_id)
            if incident is None or incident.status != "open":
                return "resolved"
            tell = handoff.giver or handoff.requested_by
            self._say(
                session,
                incident,
                destination=tell,
                op="dm",
                content=say.handoff_unconfirmed(
                    role=handoff.role,
                    taker=handoff.taker,
                    channel_id=incident.channel_id or incident.channel_name,
                ),
            )
            self._timeline(
                session,
                incident,
                now,
                None,
                "handoff",
                f"<@{handoff.taker}> did not confirm {handoff.role} within 10 min",
            )
            return "sent"
        incident = await session.get(Incident, int(ident), with_for_update=True)
        if incident is None or incident.status != "open":
            return "resolved"
        quiet = (now - incident.last_update_at).total_seconds()
        holders = await self.holders(session, incident)
        here = incident.channel_id or incident.channel_name
        if "commander" in holders:
            self._say(
                session,
                incident,
                destination=holders["commander"],
                op="dm",
                content=say.update_nudge(incident_id=incident.id, channel_id=here, quiet_for=quiet),
            )
        if "communications" in holders:
            self._say(
                session,
                incident,
                destination=holders["communications"],
                op="dm",
                content=say.stakeholder_nudge(channel_id=here, quiet_for=quiet),
            )
        await self._schedule_nudge(
            session, incident, due=now + UPDATE_EVERY[incident.severity], cancel=False
        )
        return "sent"

    # -- export ---------------------------------------------------------------------------

    async def export(self, incident_id: int, *, tz: str = "UTC", base_url: str = "") -> str:
        names = await self._names(incident_id)
        async with self._db.reading() as session:
            incident = await session.get(Incident, incident_id)
            if incident is None:
                raise UsageError(f"There is no incident {incident_id}; /incident list shows them.")
            return await self._postmortem(session, incident, tz=tz, base_url=base_url, names=names)

    async def _names(self, incident_id: int) -> dict[str, str]:
        """ "@name" of everyone the postmortem mentions, as far as the directory knows."""
        async with self._db.reading() as session:
            incident = await session.get(Incident, incident_id)
            if incident is None:
                return {}
            people: set[str | None] = {incident.declared_by}
            people |= set(
                await session.scalars(
                    select(TimelineEntry.who).where(TimelineEntry.incident_id == incident_id)
                )
            )
            people |= set(
                await session.scalars(
                    select(RoleAssignment.user).where(RoleAssignment.incident_id == incident_id)
                )
            )
            for giver, taker in await session.execute(
                select(Handoff.giver, Handoff.taker).where(Handoff.incident_id == incident_id)
            ):
                people |= {giver, taker}
            people |= set(
                await session.scalars(
                    select(IncidentAction.owner).where(IncidentAction.incident_id == incident_id)
                )
            )
            for text in await session.scalars(
                select(TimelineEntry.text).where(TimelineEntry.incident_id == incident_id)
            ):
                people |= set(_MENTION.findall(text or ""))
            people |= set(_MENTION.findall(incident.source_text or ""))
            workspace_id = incident.workspace_id
        found = await self.directory.people(workspace_id, {p for p in people if p})
        return {user: f"@{name}" for user, name in found.items()}

    # -- internals ------------------------------------------------------------------------

    def _here(self, incident: Incident) -> str:
        return incident.channel_id or f"@{_channel_key(incident.id)}"

    def _say(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        destination: str,
        op: str,
        **what: Any,
    ) -> None:
        enqueue_say(
            session,
            workspace_id=incident.workspace_id,
            destination=destination,
            op=op,
            at=self._clock.now(),
            **what,
        )

    def _timeline(
        self,
        session: AsyncSession,
        incident: Incident,
        at: datetime,
        who: str | None,
        kind: str,
        text: str,
        *,
        channel: str | None = None,
        ts: str | None = None,
    ) -> None:
        session.add(
            TimelineEntry(
                incident_id=incident.id,
                at=at,
                who=who,
                kind=kind,
                text=text,
                channel_id=channel,
                ts=ts,
            )
        )

    def _support_channel(self, workspace_id: str) -> str | None:
        watches = [
            w
            for w in self._channels.all()
            if w.workspace_id == workspace_id and w.kind == "requests"
        ]
        return watches[0].channel_id if watches else None

    def _support_pair(self, workspace_id: str, where: str) -> list[str]:
        watch = self._channels.get(workspace_id, where)
        if watch is None:
            support = self._support_channel(workspace_id)
            watch = self._channels.get(workspace_id, support) if support else None
        return list(watch.responders) if watch else []

    async def holders(self, session: AsyncSession, incident: Incident) -> dict[str, str]:
        rows = await session.scalars(
            select(RoleAssignment).where(
                RoleAssignment.incident_id == incident.id, RoleAssignment.renounced_at.is_(None)
            )
        )
        return {r.role: r.user for r in rows}

    async def _assign(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        role: str,
        user: str,
        via: str,
        by: str,
        now: datetime,
        quiet: bool = False,
    ) -> None:
        current = await session.scalars(
            select(RoleAssignment).where(
                RoleAssignment.incident_id == incident.id,
                RoleAssignment.role == role,
                RoleAssignment.renounced_at.is_(None),
            )
        )
        previous = None
        for row in current:
            row.renounced_at = now
            previous = row.user
        session.add(
            RoleAssignment(incident_id=incident.id, role=role, user=user, assumed_at=now, via=via)
        )
        await session.flush()
        await self._replace_pending(session, incident, role, keep_taker=None)
        text = f"<@{user}> is {role}" + (f" (was <@{previous}>)" if previous else "") + f" by {via}"
        self._timeline(session, incident, now, by, "role", text)
        if not quiet:
            self._say(
                session,
                incident,
                destination=self._here(incident),
                op="post",
                content=Content(text=f"👤 {text}."),
            )
            await self._topic(session, incident)
            if incident.channel_id:
                self._say(
                    session,
                    incident,
                    destination=self._here(incident),
                    op="invite",
                    payload={"users": [user]},
                )

    async def _replace_pending(
        self, session: AsyncSession, incident: Incident, role: str, keep_taker: str | None = None
    ) -> None:
        pending = await session.scalars(
            select(Handoff).where(
                Handoff.incident_id == incident.id,
                Handoff.role == role,
                Handoff.status == "pending",
            )
        )
        for old in pending:
            if old.taker != keep_taker:
                old.status = "replaced"
                await timers.cancel(
                    session, subject=f"handoff:{old.id}", at=self._clock.now(), outcome="replaced"
                )

    async def _request_handoff(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        role: str,
        taker: str,
        by: str,
        note: str,
        now: datetime,
    ) -> Handoff:
        holders = await self.holders(session, incident)
        if taker == by:
            raise UsageError(
                f"You can't hand {role} to yourself. To take it, ask the holder, or use "
                f"/incident role {role} @you."
            )
        if holders.get(role) == taker:
            raise UsageError(f"<@{taker}> already holds {role}; nothing to hand over.")
        await self._replace_pending(session, incident, role)
        handoff = Handoff(
            incident_id=incident.id,
            role=role,
            giver=holders.get(role),
            taker=taker,
            note=note,
            requested_by=by,
            requested_at=now,
            status="pending",
        )
        session.add(handoff)
        await session.flush()
        updates = await session.scalars(
            select(TimelineEntry)
            .where(
                TimelineEntry.incident_id == incident.id,
                TimelineEntry.kind.in_(("update", "note", "pinned")),
            )
            .order_by(TimelineEntry.at.desc())
            .limit(3)
        )
        latest = [f"{e.at:%H:%M} {e.text}" for e in reversed(list(updates))]
        open_actions = [
            f"{a.number}. {a.text}" + (f" (<@{a.owner}>)" if a.owner else "")
            for a in await self._actions(session, incident)
            if a.done_at is None
        ]
        content = say.handoff_request(
            roles=list(self.roles),
            handoff_id=handoff.id,
            role=role,
            giver=holders.get(role),
            taker=taker,
            running=(now - incident.declared_at).total_seconds(),
            holders=holders,
            updates=latest,
            open_actions=open_actions,
            note=note,
        )
        self._say(
            session,
            incident,
            destination=self._here(incident),
            op="post",
            content=content,
            key=f"inc:{incident.id}:handoff:{handoff.id}",
        )
        self._timeline(
            session,
            incident,
            now,
            by,
            "handoff",
            f"Handoff of {role} to <@{taker}> requested" + (f": {note}" if note else ""),
        )
        await timers.schedule(
            session,
            workspace_id=incident.workspace_id,
            subject=f"handoff:{handoff.id}",
            step="expire",
            due_at=now + HANDOFF_TIMEOUT,
        )
        return handoff

    async def _updated(self, session: AsyncSession, incident: Incident, at: datetime) -> None:
        incident.last_update_at = max(incident.last_update_at, at)
        await self._schedule_nudge(
            session, incident, due=incident.last_update_at + UPDATE_EVERY[incident.severity]
        )

    async def _schedule_nudge(
        self, session: AsyncSession, incident: Incident, *, due: datetime, cancel: bool = True
    ) -> None:
        if cancel:
            await timers.cancel(
                session,
                subject=f"incident:{incident.id}",
                at=self._clock.now(),
                outcome="rescheduled",
            )
        incident.nudge_seq += 1
        await timers.schedule(
            session,
            workspace_id=incident.workspace_id,
            subject=f"incident:{incident.id}",
            step=f"nudge:{incident.nudge_seq}",
            due_at=due,
        )

    async def _topic(self, session: AsyncSession, incident: Incident) -> None:
        holders = await self.holders(session, incident)
        text = say.topic(
            roles=list(self.roles),
            severity=incident.severity,
            holders=holders,
            resolved=incident.status == "resolved",
        )
        self._say(
            session, incident, destination=self._here(incident), op="topic", payload={"topic": text}
        )

    async def _actions(self, session: AsyncSession, incident: Incident) -> list[IncidentAction]:
        rows = await session.scalars(
            select(IncidentAction)
            .where(IncidentAction.incident_id == incident.id)
            .order_by(IncidentAction.number)
        )
        return list(rows)

    async def _whys(self, session: AsyncSession, incident: Incident) -> list[IncidentWhy]:
        rows = await session.scalars(
            select(IncidentWhy)
            .where(IncidentWhy.incident_id == incident.id)
            .order_by(IncidentWhy.number)
        )
        return list(rows)

    async def _ticket(self, session: AsyncSession, incident: Incident) -> Content:
        return say.ticket(
            title=incident.title,
            severity=incident.severity,
            status=incident.status,
            source_text=incident.source_text,
            source_channel=incident.source_channel,
            source_ts=incident.source_ts,
            sections=dict(incident.sections or {}),
            actions=[
                (a.number, a.text, a.owner, a.done_at is not None)
                for a in await self._actions(session, incident)
            ],
            whys=[w.text for w in await self._whys(session, incident)],
        )

    async def _edit_ticket(self, session: AsyncSession, incident: Incident) -> None:
        self._say(
            session,
            incident,
            destination=self._here(incident),
            op="update",
            content=await self._ticket(session, incident),
            ref_key=_ticket_key(incident.id),
        )

    async def _resolve(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        summary: str,
        by: str,
        now: datetime,
        names: dict[str, str],
    ) -> Content:
        incident.status = "resolved"
        incident.resolved_at = now
        incident.summary = summary
        self._timeline(session, incident, now, by, "resolved", summary or "Resolved")
        await timers.cancel(session, subject=f"incident:{incident.id}", at=now, outcome="resolved")
        for handoff in await session.scalars(
            select(Handoff).where(Handoff.incident_id == incident.id, Handoff.status == "pending")
        ):
            handoff.status = "replaced"
            await timers.cancel(
                session, subject=f"handoff:{handoff.id}", at=now, outcome="resolved"
            )
        holders = await self.holders(session, incident)
        lasted = (now - incident.declared_at).total_seconds()
        content = say.resolved(
            channel_id=self._here(incident) if incident.channel_id else incident.channel_name,
            title=incident.title,
            summary=summary,
            lasted=lasted,
            roles=say.roles_line(holders, list(self.roles)),
        )
        self._say(session, incident, destination=self._here(incident), op="post", content=content)
        if incident.announce_channel:
            self._say(
                session, incident, destination=incident.announce_channel, op="post", content=content
            )
        await self._edit_ticket(session, incident)
        await self._topic(session, incident)
        await session.flush()
        workspace = await session.get(Workspace, incident.workspace_id)
        markdown = await self._postmortem(
            session, incident, tz="UTC", base_url=workspace.url if workspace else "", names=names
        )
        self._say(
            session,
            incident,
            destination=self._here(incident),
            op="upload",
            payload={
                "filename": f"postmortem-{incident.channel_name}.md",
                "content": markdown,
                "title": f"Postmortem draft: {incident.title}",
                "comment": f"Postmortem draft (also: firstline incident export {incident.id})",
            },
        )
        return Content(
            text=f"Resolved after {format_duration(lasted)}. "
            "The postmortem draft is posted in the channel."
        )

    async def _postmortem(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        tz: str,
        base_url: str,
        names: dict[str, str],
    ) -> str:
        def link(channel: str | None, ts: str | None) -> str | None:
            if not (channel and ts and base_url):
                return None
            return f"{base_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"

        entries = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
        roles = await session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.incident_id == incident.id)
            .order_by(RoleAssignment.assumed_at, RoleAssignment.id)
        )
        handoffs = await session.scalars(
            select(Handoff)
            .where(Handoff.incident_id == incident.id)
            .order_by(Handoff.requested_at, Handoff.id)
        )
        data = PostmortemData(
            title=incident.title,
            severity=incident.severity,
            channel=f"#{incident.channel_name}",
            declared_by=incident.declared_by,
            declared_at=incident.declared_at,
            resolved_at=incident.resolved_at,
            summary=incident.summary or "",
            tz=tz,
            original_request=incident.source_text,
            original_link=link(incident.source_channel, incident.source_ts),
            sections={
                "symptoms": incident.sections.get("symptoms", ""),
                "scope": incident.sections.get("scope", ""),
                "root_cause": incident.sections.get("cause", ""),
                "fixes_symptoms": incident.sections.get("fixes", ""),
                "fixes_root_cause": incident.sections.get("rootfix", ""),
                "prevention": incident.sections.get("prevention", ""),
            },
            whys=[w.text for w in await self._whys(session, incident)],
            actions=[
                ActionItem(a.number, a.text, a.owner, a.done_at is not None)
                for a in await self._actions(session, incident)
            ],
            roles=[RoleSpan(r.role, r.user, r.assumed_at, r.renounced_at) for r in roles],
            handoffs=[
                HandoffRecord(h.role, h.giver, h.taker, h.requested_at, h.confirmed_at, h.note)
                for h in handoffs
                if h.status in ("done", "pending", "declined")
            ],
            timeline=[
                TimelineItem(e.at, e.who, e.kind, e.text, link(e.channel_id, e.ts)) for e in entries
            ],
            names=names,
        )
        return render_postmortem(data)

    async def _offer_declare(self, fact: Reacted, *, event_key: str | None) -> Outcome:
        now = self._clock.now()
        async with self._db.transaction() as session:
            if event_key is not None and not await inbox.record(
                session, key=f"{event_key}:incident", at=now
            ):
                return Outcome("duplicate")
            request = await session.scalar(
                select(Request).where(
                    Request.workspace_id == fact.workspace_id,
                    Request.channel_id == fact.channel_id,
                    Request.ts == fact.item_ts,
                )
            )
            if request is None:
                return Outcome("ignored")
            existing = await session.scalar(
                select(Incident).where(
                    Incident.workspace_id == fact.workspace_id,
                    Incident.source_channel == fact.channel_id,
                    Incident.source_ts == fact.item_ts,
                )
            )
            offer = (
                say.declare_offer(channel_id=fact.channel_id, ts=fact.item_ts)
                if existing is None
                else say.already_declared(
                    channel_id=existing.channel_id,
                    channel_name=existing.channel_name,
                    title=existing.title,
                    status=existing.status,
                )
            )
            outbox.enqueue(
                session,
                workspace_id=fact.workspace_id,
                destination=fact.channel_id,
                op="ephemeral",
                payload={**offer.to_payload(), "user": fact.user},
                at=now,
            )
        self._changes.committed(session)
        return Outcome("offered" if existing is None else "already_declared")

    async def _list(self, ctx: CommandContext) -> Content:
        since = self._clock.now() - RECENT
        async with self._db.reading() as session:
            rows = list(
                await session.scalars(
                    select(Incident)
                    .where(
                        Incident.workspace_id == ctx.workspace_id,
                        (Incident.status == "open") | (Incident.resolved_at >= since),
                    )
                    .order_by(Incident.declared_at.desc())
                    .limit(20)
                )
            )
        if not rows:
            return Content(text="No open incidents, and none resolved in the last 14 days.")
        lines = ["*Incidents* (open, and resolved in the last 14 days)"]
        for row in rows:
            where = f"<#{row.channel_id}>" if row.channel_id else f"#{row.channel_name}"
            state = (
                "open" if row.status == "open" else f"resolved {row.resolved_at:%d %b %H:%M} UTC"
            )
            lines.append(f"• {row.id}: {where} *{row.title}* ({row.severity.upper()}, {state})")
        return Content(text="\n".join(lines))
