"""``TeamsChat``: the chat port over the Bot Connector, used only by the outbox deliverer.

Posts go to stored conversation references (with the tenant id); an edit replaces the
activity in place; a reply goes into the post's reply chain. What Teams cannot do through
a bot degrades: there are no user groups or channel topics (the rota announcement names
the pair anyway), no ephemeral messages (the answer goes to the person privately), no
channel creation (an incident gets its own thread in the channel it was declared from).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from microsoft_agents.activity import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
)
from microsoft_agents.hosting.core.connector.client import ConnectorClient

from bot.content import Content, Delivered, DeliveryError
from handlers.teams.cards import Mentionable, Names, message_link, render
from handlers.teams.directory import Conversation, Directory, neutral_id

log = logging.getLogger(__name__)

Token = Callable[[], Awaitable[str]]  # a Bot Connector access token (cached by the caller)
HomeOf = Callable[[str, str], Awaitable[str | None]]  # (workspace, incident name) → channel
_USER = re.compile(r"<@([UW][A-Z0-9]+)")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)")
_REF = re.compile(r"<ref:([A-Z0-9]+):([^|>]+)\|")
PERMANENT_STATUS = {400, 401, 403, 404, 405, 409, 410, 413}
MAX_UPLOAD = 20_000
CONNECTOR_TIMEOUT = aiohttp.ClientTimeout(total=30)


class TeamsChat:
    def __init__(
        self, *, directory: Directory, token: Token, home_of: HomeOf | None = None
    ) -> None:
        self._directory = directory
        self._token = token
        self._home_of = home_of

    def names(self, workspace_id: str) -> Names:
        directory = self._directory

        def person(user: str) -> Mentionable | None:
            found = directory.person(workspace_id, user)
            return Mentionable(found.teams_id, found.name) if found else None

        def link(channel: str, ts: str) -> str | None:
            found = directory.conversation(workspace_id, channel)
            if found is None:
                return None
            return message_link(
                conversation_id=found.conversation_id.split(";", 1)[0],
                message_id=ts,
                tenant_id=found.tenant_id,
                team_id=found.team_id,
            )

        return Names(
            person=person,
            channel=lambda channel: directory.channel_name(workspace_id, channel),
            message_link=link,
        )

    async def know(self, workspace_id: str, content: Content, *channels: str) -> None:
        """Make sure the people and channels ``content`` names are in the directory."""
        text = " ".join([content.text, content.context or "", *(v for _, v in content.fields)])
        await self._directory.ensure(
            workspace_id,
            channels=[*channels, *_CHANNEL.findall(text), *(m[0] for m in _REF.findall(text))],
            users=_USER.findall(text),
        )

    async def post(
        self, *, workspace_id: str, channel: str, content: Content, thread_ts: str | None = None
    ) -> Delivered:
        await self.know(workspace_id, content, channel)
        where = self._where(workspace_id, channel)
        conversation_id = where.conversation_id
        if thread_ts and where.kind == "channel":
            conversation_id = f"{conversation_id};messageid={thread_ts}"
        activity = self._activity(workspace_id, content, where)
        response = await self._call(
            where, lambda c: c.conversations.send_to_conversation(conversation_id, activity)
        )
        message_id = str(getattr(response, "id", "") or "")
        if thread_ts and where.kind == "channel" and message_id:
            await self._directory.remember_reply(where, message_id=message_id, root=thread_ts)
        return Delivered(channel, message_id)

    async def update(
        self, *, workspace_id: str, channel: str, ts: str, content: Content
    ) -> Delivered:
        await self.know(workspace_id, content, channel)
        where = self._where(workspace_id, channel)
        conversation_id = where.conversation_id
        if where.kind == "channel":
            # A message in a reply chain is updated through the chain's conversation id.
            conversation_id = await self._directory.chain_of(where, message_id=ts)
        activity = self._activity(workspace_id, content, where)
        activity.id = ts
        await self._call(
            where, lambda c: c.conversations.update_activity(conversation_id, ts, activity)
        )
        return Delivered(channel, ts)

    async def dm(self, *, workspace_id: str, user: str, content: Content) -> Delivered:
        await self.know(workspace_id, content)
        await self._directory.ensure(workspace_id, users=[user])
        where = await self._personal(workspace_id, user)
        activity = self._activity(workspace_id, content, where)
        response = await self._call(
            where, lambda c: c.conversations.send_to_conversation(where.conversation_id, activity)
        )
        return Delivered(where.channel_id, str(getattr(response, "id", "") or ""))

    async def ephemeral(
        self, *, workspace_id: str, channel: str, user: str, content: Content
    ) -> Delivered:
        """Teams has no ephemeral channel messages: the answer goes to the person privately."""
        delivered = await self.dm(workspace_id=workspace_id, user=user, content=content)
        return Delivered(channel, delivered.ts)

    async def create_channel(
        self, *, workspace_id: str, name: str, is_private: bool = False
    ) -> Delivered:
        """A bot cannot create Teams channels: the incident gets a thread of its own in the
        channel it was declared from, and that thread is its channel from then on."""
        home_channel = await self._home_of(workspace_id, name) if self._home_of else None
        if home_channel:
            await self._directory.ensure(workspace_id, channels=[home_channel])
        home = self._directory.conversation(workspace_id, home_channel) if home_channel else None
        if home is None or home.kind != "channel":
            home = await self._directory.home(workspace_id)
        if home is None:
            raise DeliveryError(
                f"no Teams channel to open the incident thread {name} in", permanent=True
            )
        first = Activity(
            type="message",
            text=f"🔥 **{name}**: this thread is the incident's channel. Reply here.",
            text_format="markdown",
            channel_data={"tenant": {"id": home.tenant_id}},
        )
        parameters = ConversationParameters(
            is_group=True,
            bot=ChannelAccount(id=home.bot_id),
            channel_data={"channel": {"id": home.conversation_id}},
            activity=first,
            tenant_id=home.tenant_id,
        )
        response = await self._call(home, lambda c: c.conversations.create_conversation(parameters))
        message_id = str(getattr(response, "activity_id", "") or "")
        thread_id = str(getattr(response, "id", "") or "") or (
            f"{home.conversation_id};messageid={message_id}"
        )
        channel = neutral_id("C", thread_id)
        await self._directory.remember_conversation(
            Conversation(
                workspace_id=workspace_id,
                channel_id=channel,
                kind="thread",
                conversation_id=thread_id,
                tenant_id=home.tenant_id,
                service_url=home.service_url,
                team_id=home.team_id,
                name=name,
                bot_id=home.bot_id,
            )
        )
        return Delivered(channel, message_id)

    async def invite(self, *, workspace_id: str, channel: str, users: list[str]) -> Delivered:
        return Delivered(channel, "")  # everyone in the team sees the thread already

    async def pin(self, *, workspace_id: str, channel: str, ts: str) -> Delivered:
        return Delivered(channel, ts)  # bots cannot pin in Teams; the ticket is the thread's top

    async def set_topic(self, *, workspace_id: str, channel: str, topic: str) -> Delivered:
        return Delivered(channel, "")  # no channel topics through a bot: the posts say it

    async def set_group_members(
        self, *, workspace_id: str, group: str, users: list[str]
    ) -> Delivered:
        return Delivered(group, "")  # Teams has no user groups: the announcement mentions the pair

    async def upload(
        self,
        *,
        workspace_id: str,
        channel: str,
        filename: str,
        content: str | bytes,
        title: str,
        comment: str = "",
    ) -> Delivered:
        if isinstance(content, bytes):
            # A bot posts files to a channel only through SharePoint (Graph permissions this
            # app does not ask for): charts are named, and the figures are in the text.
            note = f"{comment}\n\n" if comment else ""
            text = f"{note}**{title}** ({filename}): charts are shown in Slack only."
            return await self.post(
                workspace_id=workspace_id, channel=channel, content=Content(text)
            )
        body = content if len(content) <= MAX_UPLOAD else content[: MAX_UPLOAD - 1] + "…"
        text = (f"{comment}\n\n" if comment else "") + f"**{title}** ({filename})\n\n{body}"
        return await self.post(workspace_id=workspace_id, channel=channel, content=Content(text))

    async def publish_home(
        self, *, workspace_id: str, user: str, sections: list[Content]
    ) -> Delivered:
        raise DeliveryError("Teams has no Home tab for bots", permanent=True)

    # -- plumbing --------------------------------------------------------------------------

    def _where(self, workspace_id: str, channel: str) -> Conversation:
        found = self._directory.conversation(workspace_id, channel)
        if found is None:
            raise DeliveryError(
                f"no Teams conversation is known for {channel} (Firstline learns it from the "
                "first message there)",
                permanent=True,
            )
        return found

    async def _personal(self, workspace_id: str, user: str) -> Conversation:
        """The 1:1 chat with ``user``: known from a message, or created now."""
        channel = neutral_id("D", self._teams_id(workspace_id, user))
        await self._directory.ensure(workspace_id, channels=[channel])
        known = self._directory.conversation(workspace_id, channel)
        if known is not None:
            return known
        person = self._directory.person(workspace_id, user)
        home = await self._directory.home(workspace_id)
        if person is None or home is None:
            raise DeliveryError(f"no Teams user is known as {user}", permanent=True)
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=home.bot_id),
            members=[ChannelAccount(id=person.teams_id)],
            channel_data={"tenant": {"id": home.tenant_id}},
            tenant_id=home.tenant_id,
        )
        response = await self._call(home, lambda c: c.conversations.create_conversation(parameters))
        created = Conversation(
            workspace_id=workspace_id,
            channel_id=channel,
            kind="personal",
            conversation_id=str(response.id),
            tenant_id=home.tenant_id,
            service_url=home.service_url,
            bot_id=home.bot_id,
        )
        await self._directory.remember_conversation(created)
        return created

    def _teams_id(self, workspace_id: str, user: str) -> str:
        person = self._directory.person(workspace_id, user)
        return person.teams_id if person else user

    def _activity(self, workspace_id: str, content: Content, where: Conversation) -> Activity:
        rendered = render(content, names=self.names(workspace_id))
        activity = Activity.model_validate(rendered)
        activity.conversation = ConversationAccount(
            id=where.conversation_id, tenant_id=where.tenant_id
        )
        activity.channel_data = {"tenant": {"id": where.tenant_id}}
        return activity

    async def _call(
        self, where: Conversation, call: Callable[[ConnectorClient], Awaitable[Any]]
    ) -> Any:
        try:
            token = await self._token()
        except Exception as error:  # MSAL reports refusals as ValueError, transport as others
            raise DeliveryError(f"could not sign in to the Bot Connector: {error}") from error
        session = aiohttp.ClientSession(
            base_url=_base(where.service_url), timeout=CONNECTOR_TIMEOUT
        )
        client = ConnectorClient(where.service_url, token, session=session)
        try:
            return await call(client)
        except aiohttp.ClientResponseError as error:
            raise _delivery_error(error) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(f"Bot Connector unreachable: {error}") from error
        finally:
            await client.close()


def _base(service_url: str) -> str:
    return service_url if service_url.endswith("/") else service_url + "/"


def _delivery_error(error: aiohttp.ClientResponseError) -> DeliveryError:
    status = error.status
    if status == 429:
        try:
            seconds = float(error.headers.get("Retry-After") or 30 if error.headers else 30)
        except (TypeError, ValueError):
            seconds = 30.0
        return DeliveryError(f"rate limited for {seconds:g}s", retry_after=seconds)
    if status in PERMANENT_STATUS:
        return DeliveryError(f"the Bot Connector refused: {status} {error.message}", permanent=True)
    return DeliveryError(f"the Bot Connector answered {status}: {error.message}")
