"""The one router: commands, button presses and dialog submissions, from any platform.

    answer = await router.command(group="rota", text="choose @a @b", where=..., asker=...)

For each it finds the rule (``bot.frontdoor.rules``), checks what the rule needs (a channel,
a watched channel, a rota, an incident channel) and that the object a button names exists,
belongs to this workspace and is in a state where the press makes sense, then whether this
person may; only then does a service act. A refusal changes nothing. Home is refreshed here,
once, after anything that changes what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as desk_messages
from bot.commands import (
    SupportCommand,
    SupportCommands,
    SupportHelp,
    SupportResponders,
    SupportStats,
    SupportStatus,
    SupportUnwatch,
    SupportWatch,
)
from bot.content import Content, button_id
from bot.context import Asker, CommandContext
from bot.errors import FirstlineError, UsageError
from bot.facts import Pressed
from bot.frontdoor import messages
from bot.frontdoor.rules import RULES, Needs, Rule, Who
from bot.grammar import parse_incident, parse_rota, parse_support
from bot.incidents import commands as inc
from bot.reports.commands import ReportCommand
from bot.rota import commands as rota_commands
from bot.rota.commands import RotaCommand
from bot.rota.service import CHOOSE
from bot.support_ops import FaqSwitch, SuggestForget, SuggestSwitch, TemplateList, TemplateSet
from bot.triage.service import request_at
from storage.models import (
    Handoff,
    Incident,
    OutOfHoursWork,
    Request,
    RotaMember,
    RotaSwap,
    RotaTeam,
    Suggestion,
    SupportWeek,
)

if TYPE_CHECKING:
    from bot.channels import Channels
    from bot.clock import Clock
    from bot.desk import Desk
    from bot.history.service import History
    from bot.incidents.service import Incidents
    from bot.reports.service import Reports
    from bot.rota.service import Rota
    from bot.toil.service import Toil
    from bot.triage.service import Triage
    from storage.engine import Database

TRIAGE = "triage"
GROUPS = ("support", "rota", "incident")

_INCIDENT_VERBS: dict[type, str] = {
    inc.IncidentHelp: "help",
    inc.ListIncidents: "list",
    inc.Declare: "declare",
    inc.SetSection: "set",
    inc.AddAction: "action",
    inc.ActionDone: "action",
    inc.AddWhy: "why",
    inc.SetSeverity: "severity",
    inc.AssignRole: "role",
    inc.RequestHandoff: "handoff",
    inc.Note: "note",
    inc.Update: "update",
    inc.Resolve: "resolve",
}


@dataclass(frozen=True)
class Where:
    """Who typed or pressed, and where."""

    workspace_id: str
    channel_id: str
    user: str


@dataclass(frozen=True)
class Dialog:
    """A dialog the platform should open (Slack: a modal; Teams: how to type it instead)."""

    kind: str
    ref: str
    channel_id: str


@dataclass(frozen=True)
class Answer:
    """What to tell the person; ``refused`` answers go to them alone on every platform.
    ``content`` is None when the service has already told them (in its own transaction).
    ``rule`` names what ran (a key of ``RULES``), for a platform's own follow-up: Slack
    joins a channel it was told to watch."""

    content: Content | None
    refused: bool = False
    dialog: Dialog | None = None
    rule: str = ""


@dataclass(frozen=True)
class Submitted:
    """A dialog's submission: ``ref`` is what the dialog was opened for (a week id)."""

    workspace_id: str
    channel_id: str
    user: str
    kind: str
    ref: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Subject:
    """What a rule needs to know: the people who count as each ``Who``."""

    people: dict[Who, frozenset[str]] = field(default_factory=dict)
    problem: Content | None = None


def command_key(group: str, parsed: object) -> str:
    """The rule a parsed command falls under."""
    if isinstance(parsed, RotaCommand):
        return f"rota {parsed.verb}"
    if group == "incident":
        return f"incident {_INCIDENT_VERBS[type(parsed)]}"
    if isinstance(parsed, ReportCommand):
        return {"slo_set": "support slo set"}.get(parsed.verb, f"support {parsed.verb}")
    if isinstance(parsed, SupportResponders):
        return "support responders set" if parsed.users else "support responders"
    if isinstance(parsed, FaqSwitch):
        return "support faq switch"
    if isinstance(parsed, SuggestSwitch):
        return "support suggest switch"
    if isinstance(parsed, SuggestForget):
        return "support suggest forget"
    if isinstance(parsed, TemplateList | TemplateSet):
        return "support template"
    simple: dict[type, str] = {
        SupportHelp: "help",
        SupportStatus: "status",
        SupportStats: "stats",
        SupportWatch: "watch",
        SupportUnwatch: "unwatch",
    }
    verb = simple.get(type(parsed))
    return f"support {verb}" if verb else "support faq"


class Router:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        channels: Channels,
        desk: Desk,
        support: SupportCommands,
        rota: Rota,
        incidents: Incidents,
        reports: Reports,
        toil: Toil,
        triage: Triage,
        history: History,
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels = channels
        self._desk = desk
        self._support = support
        self._rota = rota
        self._incidents = incidents
        self._reports = reports
        self._toil = toil
        self._triage = triage
        self._history = history

    # -- commands -------------------------------------------------------------------------

    async def command(self, *, group: str, text: str, where: Where, asker: Asker) -> Answer:
        """``/support …``, ``/rota …``, ``/incident …`` (or ``@Firstline support …``)."""
        parsed: Any
        if group == "support":
            parsed = parse_support(text)
        elif group == "rota":
            parsed = parse_rota(text)
        elif group == "incident":
            parsed = parse_incident(text, roles=self._incidents.roles)
        else:
            raise UsageError(f"I don't know {group!r}; try {asker.prefix}support help.")
        rule = RULES[command_key(group, parsed)]
        missing = await self._missing(rule.needs, where)
        if missing is not None:
            return Answer(
                messages.needs(rule, need=missing, prefix=asker.prefix),
                refused=True,
            )
        subject = await self._command_subject(rule, parsed, where)
        allowed, admin = await self._allowed(rule, subject, where.user, asker)
        if not allowed:
            return _refuse(rule, subject, asker)
        if rule.key == "support watch":
            await asker.join(where.channel_id)  # the platform's own step; may refuse
        ctx = CommandContext(
            workspace_id=where.workspace_id,
            channel_id=where.channel_id,
            user=where.user,
            is_admin=admin,
            prefix=asker.prefix,
        )
        content = await self._run_command(group, parsed, ctx)
        if rule.changes_home:
            await self._reports.changed(where.workspace_id)
        return Answer(content, rule=rule.key)

    async def _run_command(self, group: str, parsed: Any, ctx: CommandContext) -> Content:
        if group == "support":
            command: SupportCommand = parsed
            return await self._support.run(command, ctx)
        if group == "rota":
            return await rota_commands.run(self._rota, parsed, ctx, toil=self._toil)
        return await self._incidents.run(parsed, ctx)

    async def _missing(self, needs: Needs, where: Where) -> Needs | None:
        """The first thing the command needs that is not there (a 1:1 chat has no channel)."""
        if needs is Needs.NOTHING:
            return None
        if not where.channel_id:
            return Needs.CHANNEL
        ws, channel = where.workspace_id, where.channel_id
        if needs is Needs.WATCHED:
            # Authoritative, not the memory view: a watch made on another replica a moment
            # ago counts here too.
            return None if await self._channels.lookup(ws, channel) else needs
        if needs is Needs.INCIDENT:
            return None if self._incidents.incident_in(ws, channel) else needs
        if needs is Needs.ROTA:
            async with self._db.reading() as session:
                team = await session.scalar(
                    select(RotaTeam.id).where(
                        RotaTeam.workspace_id == ws, RotaTeam.channel_id == channel
                    )
                )
            return None if team is not None else needs
        return None

    async def _command_subject(self, rule: Rule, parsed: Any, where: Where) -> Subject:
        subject = Subject()
        if rule.anyone:
            return subject
        async with self._db.reading() as session:
            team = await session.scalar(
                select(RotaTeam).where(
                    RotaTeam.workspace_id == where.workspace_id,
                    RotaTeam.channel_id == where.channel_id,
                )
            )
            if team is not None:
                subject.people[Who.LEAD] = frozenset([team.lead] if team.lead else [])
                members = await session.scalars(
                    select(RotaMember.user).where(
                        RotaMember.team_id == team.id, RotaMember.active.is_(True)
                    )
                )
                subject.people[Who.MEMBER] = frozenset(members)
            incident_id = self._incidents.incident_in(where.workspace_id, where.channel_id)
            incident = await session.get(Incident, incident_id) if incident_id else None
            if incident is not None:
                holders = await self._incidents.holders(session, incident)
                subject.people[Who.COMMANDER] = frozenset(
                    [holders["commander"]] if "commander" in holders else []
                )
                role = getattr(parsed, "role", None)
                holder = holders.get(role) if role else None
                # Nobody holds the role yet: anyone in the incident channel may hand it over.
                subject.people[Who.HOLDER] = frozenset([holder] if holder else [where.user])
        return subject

    # -- buttons --------------------------------------------------------------------------

    async def press(self, pressed: Pressed, *, asker: Asker) -> Answer:
        rule = RULES.get(pressed.action_id)
        if rule is None:
            return Answer(desk_messages.unknown_button(), refused=True)
        where = Where(pressed.workspace_id, pressed.channel_id, pressed.user)
        subject = await self._press_subject(pressed)
        if subject.problem is not None:
            return Answer(subject.problem, refused=True)
        allowed, _ = await self._allowed(rule, subject, where.user, asker)
        if not allowed:
            return _refuse(rule, subject, asker)
        try:
            answer = await self._act(pressed)
        except FirstlineError as error:
            return Answer(Content(text=error.message), refused=True)
        if rule.changes_home:
            await self._reports.changed(where.workspace_id)
        return answer

    async def _act(self, pressed: Pressed) -> Answer:
        ws, user, action = pressed.workspace_id, pressed.user, pressed.action_id
        if action == desk_messages.ON_IT:
            channel, _, ts = pressed.value.partition(":")
            await self._desk.respond_by_button(
                workspace_id=ws,
                channel_id=channel,
                ts=ts,
                user=user,
                reply_in=pressed.channel_id or channel,
            )
            return Answer(None)
        if action in (CHOOSE, TRIAGE):
            return Answer(None, dialog=Dialog(action, pressed.value, pressed.channel_id))
        if action.startswith("rota_"):
            return Answer(
                await self._rota.press(
                    action_id=action, value=pressed.value, user=user, workspace_id=ws
                )
            )
        if action.startswith("history_"):
            pressed_answer = await self._history.press(
                action_id=action, value=pressed.value, user=user, workspace_id=ws
            )
            return Answer(pressed_answer.content)
        if action.startswith("incident_"):
            return Answer(
                await self._incidents.press(
                    action_id=action,
                    value=pressed.value,
                    user=user,
                    workspace_id=ws,
                    channel_id=pressed.channel_id,
                )
            )
        return Answer(await self._toil.press_woke(value=pressed.value, user=user))

    async def _press_subject(self, pressed: Pressed) -> Subject:
        """The object the button names, checked: exists, this workspace, a sensible state."""
        action, value, ws = pressed.action_id, pressed.value, pressed.workspace_id
        now = self._clock.now()
        async with self._db.reading() as session:
            if action in (desk_messages.ON_IT, "incident_declare_from_message", TRIAGE):
                return await self._request_subject(session, action, value, ws, pressed.user)
            if action == "incident_link_request":
                return await self._link_subject(session, value, ws)
            if action.startswith("history_"):
                return await self._suggestion_subject(session, value, ws)
            if action == "incident_snooze":
                ident = button_id(value.partition(":")[0])
            else:
                ident = button_id(value)
            if ident is None:
                return Subject(problem=messages.nothing_attached())
            if action.startswith("rota_"):
                return await self._rota_subject(session, action, ident, ws, now)
            if action == "incident_snooze":
                return await self._snooze_subject(session, ident, pressed)
            if action.startswith("incident_"):
                handoff = await session.get(Handoff, ident)
                incident = await session.get(Incident, handoff.incident_id) if handoff else None
                if handoff is None or incident is None or incident.workspace_id != ws:
                    return Subject(problem=messages.gone("handoff"))
                if handoff.status != "pending":
                    return Subject(problem=messages.settled("This handoff was already settled"))
                if incident.status != "open":
                    return Subject(problem=messages.settled("The incident is resolved"))
                return Subject(people={Who.NAMED: frozenset([handoff.taker])})
            entry = await session.get(OutOfHoursWork, ident)
            if entry is None or entry.workspace_id != ws:
                return Subject(problem=messages.gone("out-of-hours record"))
            return Subject(people={Who.NAMED: frozenset([entry.user])})

    async def _request_subject(
        self, session: AsyncSession, action: str, value: str, ws: str, user: str
    ) -> Subject:
        channel, _, ts = value.partition(":")
        if action == TRIAGE:
            # The message menu may be used on an alert's repeat too: it means the alert.
            found = await request_at(session, ws, channel, ts) if channel and ts else None
            return Subject(problem=messages.untracked() if not found or found.deleted else None)
        request = await session.scalar(
            select(Request).where(
                Request.workspace_id == ws, Request.channel_id == channel, Request.ts == ts
            )
        )
        if request is None or request.deleted or not channel or not ts:
            return Subject(problem=messages.gone("request"))
        if action == desk_messages.ON_IT:
            watch = await self._channels.lookup(ws, channel)
            if watch is None:
                return Subject(problem=messages.gone("watched channel"))
            eligible = watch.is_eligible(user, requester=request.requester)
            return Subject(people={Who.RESPONDER: frozenset([user] if eligible else [])})
        existing = await session.scalar(
            select(Incident.id).where(
                Incident.workspace_id == ws,
                Incident.source_channel == channel,
                Incident.source_ts == ts,
            )
        )
        if existing is not None:
            return Subject(
                problem=messages.settled("An incident was already declared from that message")
            )
        return Subject()

    async def _link_subject(self, session: AsyncSession, value: str, ws: str) -> Subject:
        incident_text, _, request_text = value.partition(":")
        incident_id, request_id = button_id(incident_text), button_id(request_text)
        if incident_id is None or request_id is None:
            return Subject(problem=messages.nothing_attached())
        incident = await session.get(Incident, incident_id)
        request = await session.get(Request, request_id)
        if incident is None or incident.workspace_id != ws:
            return Subject(problem=messages.gone("incident"))
        if request is None or request.workspace_id != ws or request.deleted:
            return Subject(problem=messages.gone("request"))
        if incident.status != "open":
            return Subject(problem=messages.settled("This incident is resolved"))
        return Subject()

    async def _suggestion_subject(self, session: AsyncSession, value: str, ws: str) -> Subject:
        ident = button_id(value)
        if ident is None:
            return Subject(problem=messages.nothing_attached())
        suggestion = await session.get(Suggestion, ident)
        if suggestion is None or suggestion.workspace_id != ws:
            return Subject(problem=messages.gone("suggestion"))
        # A second verdict is answered by the service ("already marked …"), changing nothing.
        return Subject()

    async def _snooze_subject(self, session: AsyncSession, ident: int, pressed: Pressed) -> Subject:
        incident = await session.get(Incident, ident)
        if incident is None or incident.workspace_id != pressed.workspace_id:
            return Subject(problem=messages.gone("incident"))
        if incident.status != "open":
            return Subject(problem=messages.settled("This incident is resolved"))
        here = self._incidents.incident_in(pressed.workspace_id, pressed.channel_id)
        if here is not None and here != incident.id:
            # The reminder is posted in its own incident's channel; another id is forged.
            return Subject(problem=messages.gone("incident"))
        holders = await self._incidents.holders(session, incident)
        commander = holders.get("commander")
        return Subject(people={Who.COMMANDER: frozenset([commander] if commander else [])})

    async def _rota_subject(
        self, session: AsyncSession, action: str, ident: int, ws: str, now: datetime
    ) -> Subject:
        if action == "rota_swap_confirm":
            swap = await session.get(RotaSwap, ident)
            week = await session.get(SupportWeek, swap.week_id) if swap else None
            team = await session.get(RotaTeam, week.team_id) if week else None
            if swap is None or week is None or team is None or team.workspace_id != ws:
                return Subject(problem=messages.gone("swap"))
            if swap.status != "pending":
                return Subject(problem=messages.settled(f"This swap is already {swap.status}"))
            if swap.out_user not in (week.first, week.second, week.fallback):
                # The week was chosen again since: this swap would change nobody.
                return Subject(problem=messages.settled("The week changed since this swap"))
            return Subject(people={Who.NAMED: frozenset([swap.out_user, swap.in_user])})
        week = await session.get(SupportWeek, ident)
        team = await session.get(RotaTeam, week.team_id) if week else None
        if week is None or team is None or team.workspace_id != ws:
            return Subject(problem=messages.gone("support week"))
        subject = Subject(people={Who.LEAD: frozenset(filter(None, [team.lead]))})
        if action == "rota_handoff_done":
            previous = await session.scalar(
                select(SupportWeek)
                .where(
                    SupportWeek.team_id == team.id,
                    SupportWeek.starts_at < week.starts_at,
                    SupportWeek.status != "suggested",
                )
                .order_by(SupportWeek.starts_at.desc())
                .limit(1)
            )
            pairs = [week.first, week.second]
            if previous is not None:
                pairs += [previous.first, previous.second]
            subject.people[Who.PAIRS] = frozenset(pairs)
            return subject
        if week.status != "suggested" or week.starts_at <= now:
            subject.problem = messages.settled("This week is already decided")
            return subject
        current = await session.scalar(
            select(SupportWeek).where(
                SupportWeek.team_id == team.id,
                SupportWeek.starts_at <= now,
                SupportWeek.ends_at > now,
            )
        )
        picked = [week.first, week.second]
        if current is not None:
            picked += [current.first, current.second]
        subject.people[Who.PICKED] = frozenset(picked)
        return subject

    # -- dialogs --------------------------------------------------------------------------

    async def submit(self, submitted: Submitted, *, asker: Asker) -> Answer:
        """A dialog's submission: checked as the button that opened it, then acted on."""
        where = Where(submitted.workspace_id, submitted.channel_id, submitted.user)
        if submitted.kind == TRIAGE:
            async with self._db.reading() as session:
                subject = await self._request_subject(
                    session, TRIAGE, submitted.ref, where.workspace_id, where.user
                )
            if subject.problem is not None:
                return Answer(subject.problem, refused=True)
            channel, _, ts = submitted.ref.partition(":")
            content = await self._triage.set_category(
                workspace_id=where.workspace_id,
                channel_id=channel,
                ts=ts,
                category=submitted.values.get("category", ""),
                user=where.user,
            )
            return Answer(content)
        first, second = submitted.values.get("first"), submitted.values.get("second")
        if not first or not second:
            return Answer(Content(text="Choose two people."), refused=True)
        rule = RULES[CHOOSE]
        pressed = Pressed(where.workspace_id, where.channel_id, where.user, CHOOSE, submitted.ref)
        subject = await self._press_subject(pressed)
        week_id = button_id(submitted.ref)
        if subject.problem is None and week_id is not None:
            subject.problem = await self._other_rota(week_id, where)
        if subject.problem is not None:
            return Answer(subject.problem, refused=True)
        allowed, admin = await self._allowed(rule, subject, where.user, asker)
        if not allowed:
            return _refuse(rule, subject, asker)
        ctx = CommandContext(
            workspace_id=where.workspace_id,
            channel_id=where.channel_id,
            user=where.user,
            is_admin=admin,
            prefix=asker.prefix,
        )
        fallback = submitted.values.get("fallback") or None
        try:
            content = await self._rota.choose(ctx, [first, second], fallback, week_id=week_id)
        except FirstlineError as error:
            return Answer(Content(text=error.message), refused=True)
        await self._reports.changed(where.workspace_id)
        return Answer(content)

    async def _other_rota(self, week_id: int, where: Where) -> Content | None:
        """A dialog opened in one rota's channel must not decide another rota's week."""
        async with self._db.reading() as session:
            week = await session.get(SupportWeek, week_id)
            team = await session.get(RotaTeam, week.team_id) if week else None
        if team is None or (where.channel_id and team.channel_id != where.channel_id):
            return messages.gone("support week")
        return None

    # -- who ------------------------------------------------------------------------------

    async def _allowed(
        self, rule: Rule, subject: Subject, user: str, asker: Asker
    ) -> tuple[bool, bool]:
        """(may this person go ahead, are they an admin): admin rights are looked up only
        when nothing else lets them through."""
        if subject.problem is not None:
            return False, False
        if rule.anyone:
            return True, False
        if any(user in subject.people.get(who, frozenset()) for who in rule.who):
            return True, False
        if Who.ADMIN in rule.who and await asker.is_admin():
            return True, True
        return False, False


def _refuse(rule: Rule, subject: Subject, asker: Asker) -> Answer:
    if subject.problem is not None:
        return Answer(subject.problem, refused=True)
    return Answer(
        messages.not_allowed(rule, platform=asker.platform, people=subject.people), refused=True
    )
