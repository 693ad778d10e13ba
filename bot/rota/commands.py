"""`/rota …` commands, parsed (see ``bot.grammar.parse_rota``), and what they do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.content import Content
from bot.context import CommandContext
from bot.errors import UsageError
from bot.rota.service import Rota
from bot.toil.service import Toil, describe_month, parse_policy

HELP = "\n".join(
    [
        "*Firstline: /rota*",
        '• `/rota config [name=backend] [start="Wed 09:00"] [pick="Mon 17:00"] [tz=Europe/Berlin] '
        "[holidays=DE] [lead=@x] [group=@support]`: start or change this channel's rota (admins)",
        "• `/rota add @name [prod] [new]`, `/rota remove @name`, "
        "`/rota set @name prod=yes|no days=Mon-Fri new=no`",
        "• `/rota away @name 2026-12-01..2026-12-05 [reason]`: leave, respected by every pick",
        "• `/rota swap @out @in [2026-12-02]`: both confirm with a button; "
        "`/rota choose @a @b [fallback=@c]`: decide next week by hand (or the Choose… button)",
        "• `/rota plan 12`: a fair proposal for twelve weeks; `/rota history`; "
        "`/rota calendar`: DMs you the calendar (ICS) link",
        "• `/rota who`: the current pair, fallback and observer; "
        "`/rota show`: members, leave, weeks",
        "• `/rota config toil=a|b|off` (admins): record time off in lieu for out-of-hours work; "
        "`/rota toil [2026-11]`: what each person is owed for the month",
        "At the pick time (Mon 17:00 unless `/rota config pick=…`) Firstline suggests next "
        "week's pair (fewest support weeks in the last twelve first) with Accept / Suggest "
        "another; the week starts Wednesday 09:00 (`start=…`) with a handoff. Before the first "
        "pick, `/rota choose @a @b` sets the coming week's pair at once.",
    ]
)


@dataclass(frozen=True)
class RotaCommand:
    verb: str
    user: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    first: date | None = None
    last: date | None = None
    reason: str = ""


async def run(
    rota: Rota, command: RotaCommand, ctx: CommandContext, *, toil: Toil | None = None
) -> Content:
    if command.verb == "help":
        return Content(text=HELP)
    if command.verb == "config":
        options = dict(command.options)
        policy = options.pop("toil", None)
        if policy is not None and toil is not None:
            parse_policy(policy)  # refuse a bad value before changing anything
        reply = await rota.configure(
            workspace_id=ctx.workspace_id, channel_id=ctx.channel_id, options=options
        )
        if policy is None or toil is None:
            return reply
        said = await toil.set_policy(
            workspace_id=ctx.workspace_id, channel_id=ctx.channel_id, policy=policy
        )
        return Content(text=f"{reply.text}\n{said}")
    if command.verb == "toil":
        if toil is None:
            raise UsageError("Time off in lieu is not available here.")
        month = command.options.get("month")
        [report] = await toil.month(
            workspace_id=ctx.workspace_id, channel_id=ctx.channel_id, month=month
        )
        return describe_month(report)
    if command.verb == "who":
        who = await rota.who(workspace_id=ctx.workspace_id, channel_id=ctx.channel_id)
        if not who["pair"]:
            return Content(text="Nobody is on support yet: the first week starts after a pick.")
        text = f"On support: <@{who['pair'][0]}> and <@{who['pair'][1]}>"
        if who["fallback"]:
            text += f", fallback <@{who['fallback']}>"
        if who["observer"]:
            text += f", observer <@{who['observer']}>"
        return Content(text=text + f" (until {who['until'][:16].replace('T', ' ')} UTC).")
    if command.verb == "show":
        return await rota.show(ctx)
    if command.verb == "plan":
        return await rota.plan(ctx, int(command.options.get("weeks", "12")))
    if command.verb == "history":
        return await rota.history_of(ctx)
    if command.verb == "choose":
        pair = [u for u in command.options.get("pair", "").split(",") if u]
        return await rota.choose(ctx, pair, command.options.get("fallback") or None)
    if command.verb == "swap":
        week = command.options.get("week")
        return await rota.request_swap(
            ctx,
            command.options["out"],
            command.options["in"],
            date.fromisoformat(week) if week else None,
        )
    if command.verb == "calendar":
        return await rota.send_calendar_link(ctx)
    assert command.user is not None
    if command.verb == "add":
        return await rota.add(
            ctx, command.user, prod="prod" in command.flags, new="new" in command.flags
        )
    if command.verb == "remove":
        return await rota.remove(ctx, command.user)
    if command.verb == "set":
        return await rota.set(ctx, command.user, command.options)
    if command.verb == "away":
        assert command.first is not None and command.last is not None
        return await rota.away(ctx, command.user, command.first, command.last, command.reason)
    raise UsageError("I don't know that command. Type /rota help.")
