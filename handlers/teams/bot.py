"""The Teams bot: one turn per activity, fanning out into the same core as Slack.

    bot = TeamsBot(core=core, directory=directory, settings=settings)
    await adapter.process_activity(claims, activity, bot.on_turn)  # see endpoint.py

Channel messages become facts (the desk dedupes them on the activity id in the inbox);
``@Firstline support|rota|incident …`` goes through the same grammar and command
services as the Slack slash commands and is answered in the message's reply chain;
card buttons (``Action.Submit``) call the same services as the Slack buttons.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, InvokeResponse
from microsoft_agents.hosting.core import TurnContext

from bot.config import Settings
from bot.content import Content
from bot.context import Asker
from bot.core import Core
from bot.facts import Deleted, Edited, Posted, Pressed, Reacted
from bot.frontdoor.router import Answer, Where
from bot.messages import unknown_button
from bot.rota.service import CHOOSE
from handlers.teams import messages
from handlers.teams.cards import render
from handlers.teams.chat import TeamsChat
from handlers.teams.directory import Directory, neutral_id
from handlers.teams.normalise import CommandText, Press, Seen, normalise
from storage import inbox

log = logging.getLogger(__name__)

COMMANDS = ("support", "rota", "incident")
# The activity's JSON exactly as Teams sent it (normalise works on JSON, and a model
# round trip could rename or drop fields it reads), handed over by the endpoint.
RAW_ACTIVITY: ContextVar[dict[str, Any] | None] = ContextVar("raw_activity", default=None)
_SLASH = re.compile(r"(?<![\w/])/(support|rota|incident)\b")


class TeamsBot:
    def __init__(
        self, *, core: Core, directory: Directory, chat: TeamsChat, settings: Settings
    ) -> None:
        self._core = core
        self._directory = directory
        self._chat = chat
        self._settings = settings
        self._admins = settings.admins
        self._workspaces: set[str] = set()
        self._bot_name = settings.teams_bot_name

    async def on_turn(self, context: TurnContext) -> None:
        raw = RAW_ACTIVITY.get()
        activity: dict[str, Any] = (
            raw
            if raw is not None
            else context.activity.model_dump(by_alias=True, exclude_none=True, mode="json")
        )
        self._core.metrics.events.labels(
            platform="teams", type=str(activity.get("type") or "unknown")
        ).inc()
        conversation_id = str((activity.get("conversation") or {}).get("id") or "")
        thread = await self._directory.thread(conversation_id)
        seen = normalise(
            activity,
            commands=COMMANDS,
            thread_channel=lambda c: thread.channel_id if thread and c == conversation_id else None,
        )
        if not seen.workspace_id:
            if activity.get("type") == "invoke":
                await _invoke_ok(context)
            return
        await self._remember(seen, activity)
        what = seen.what
        if isinstance(what, Posted | Edited | Deleted | Reacted):
            await self._core.route(what, event_key=seen.key)
        elif isinstance(what, CommandText):
            await self._command(context, seen, what)
        elif isinstance(what, Press):
            await self._press(context, seen, what)
        elif activity.get("type") == "invoke":
            await _invoke_ok(context)

    async def _remember(self, seen: Seen, activity: dict[str, Any]) -> None:
        if seen.workspace_id not in self._workspaces:
            bot_id = str((activity.get("recipient") or {}).get("id") or "")
            await self._core.remember_workspace(
                workspace_id=seen.workspace_id,
                name=seen.team_name or seen.tenant_id,
                url="",
                bot_user_id=neutral_id("W", bot_id) if bot_id else "",
                platform="teams",
            )
            self._workspaces.add(seen.workspace_id)
        if seen.conversation is not None:
            await self._directory.remember_conversation(seen.conversation)
        for person in seen.people:
            await self._directory.remember_person(person)

    async def _claim(self, key: str | None) -> bool:
        """Commands and presses are not facts: claim the activity id here so a retried
        activity does nothing twice."""
        if key is None:
            return True
        async with self._core.db.transaction() as session:
            return await inbox.record(session, key=key, at=self._core.now())

    async def _claimed(self, key: str | None, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` once per activity id; if it fails, a retry may run it again."""
        if not await self._claim(key):
            self._core.metrics.duplicates.inc()
            return
        try:
            await work()
        except Exception:
            if key is not None:
                async with self._core.db.transaction() as session:
                    await inbox.forget(session, key)
            raise

    def _is_admin(self, workspace_id: str, user: str) -> bool:
        person = self._directory.person(workspace_id, user)
        ids = {user} | ({person.teams_id, person.aad_object_id or ""} if person else set())
        return bool(ids & self._admins)

    async def _command(self, context: TurnContext, seen: Seen, command: CommandText) -> None:
        await self._claimed(seen.key, lambda: self._run_command(context, command))

    def _asker(self, workspace_id: str, user: str) -> Asker:
        async def admin() -> bool:
            return self._is_admin(workspace_id, user)

        return Asker(platform="teams", prefix=f"@{self._bot_name} ", is_admin=admin)

    async def _run_command(self, context: TurnContext, command: CommandText) -> None:
        self._core.metrics.events.labels(platform="teams", type="command").inc()
        if command.group not in COMMANDS:
            await self._reply(
                context, command.workspace_id, messages.what_to_type(self._bot_name, command.text)
            )
            return
        where = Where(
            workspace_id=command.workspace_id,
            channel_id="" if command.personal else command.channel_id,
            user=command.user,
        )

        async def run() -> Answer:
            return await self._core.command(
                group=command.group,
                text=command.text,
                where=where,
                asker=self._asker(command.workspace_id, command.user),
            )

        answer = await _answer(run)
        content = answer.content or Content(text="Done.")
        if answer.refused and where.channel_id:
            # A refusal is for the person alone, as Slack's ephemeral answer is.
            await self._core.tell(
                workspace_id=where.workspace_id,
                channel=where.channel_id,
                user=where.user,
                content=content,
            )
            return
        if answer.rule in ("support watch", "support status") and where.channel_id:
            # Teams ids are long; the shell knows this channel by its neutral id.
            content = messages.with_shell_ids(
                content, workspace_id=where.workspace_id, channel_id=where.channel_id
            )
        await self._reply(context, command.workspace_id, content)

    async def _press(self, context: TurnContext, seen: Seen, press: Press) -> None:
        if press.invoke:
            await _invoke_ok(context)
        await self._claimed(seen.key, lambda: self._run_press(press))

    async def _run_press(self, press: Press) -> None:
        self._core.metrics.events.labels(platform="teams", type="button").inc()
        answer = await self._core.press(
            Pressed(
                workspace_id=press.workspace_id,
                channel_id=press.channel_id,
                user=press.user,
                action_id=press.action_id,
                value=press.value,
            ),
            asker=self._asker(press.workspace_id, press.user),
        )
        if answer.dialog is not None:
            # Slack opens a dialog with user pickers; a Teams card button cannot. Triage is
            # Slack's message menu: no Teams card offers it, so such a press is not ours.
            await self._core.tell(
                workspace_id=press.workspace_id,
                channel=press.channel_id,
                user=press.user,
                content=messages.choose_by_command(self._bot_name)
                if answer.dialog.kind == CHOOSE
                else unknown_button(),
            )

    async def _reply(self, context: TurnContext, workspace_id: str, content: Content) -> None:
        """A command's answer, in the reply chain of the message that asked."""
        teams_text = _SLASH.sub(lambda m: f"@{self._bot_name} {m.group(1)}", content.text)
        content = Content(
            text=teams_text, fields=content.fields, buttons=content.buttons, context=content.context
        )
        await self._chat.know(workspace_id, content)
        rendered = render(content, names=self._chat.names(workspace_id))
        try:
            await context.send_activity(Activity.model_validate(rendered))
        except Exception:
            # The command ran; running it again on Teams' retry could do it twice.
            log.exception("the answer to a Teams command could not be sent")


async def _answer(run: Callable[[], Awaitable[Answer]]) -> Answer:
    """Whatever happens, the person gets an answer, never a trace."""
    try:
        return await run()
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("Teams command failed (ref %s)", ref)
        return Answer(messages.went_wrong(ref))


async def _invoke_ok(context: TurnContext) -> None:
    await context.send_activity(
        Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=HTTPStatus.OK))
    )
