"""``SlackChat``: the chat port over Slack's Web API, used only by the outbox deliverer.

Rate limits and server errors become ``DeliveryError`` with the right retry time, so
the outbox (which survives restarts) does the waiting instead of a blocked client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.content import Content, Delivered, DeliveryError, channel_names
from bot.people import Directory
from handlers.slack.blocks import render, render_blocks

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

PERMANENT_ERRORS = {
    "channel_not_found",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "not_authed",
    "msg_too_long",
    "no_text",
    "user_not_found",
    "cant_update_message",
    "message_not_found",
    "edit_window_closed",
    "invalid_blocks",
    "restricted_action",
    "cannot_dm_bot",
    "not_in_channel",
    "invalid_name_specials",
    "invalid_name",
    "method_not_supported_for_channel_type",
    "missing_scope",
}


MARKER_EVENT = "firstline_outbox"  # message metadata event_type on every post and DM
MARKER_PAGES = 5  # pages of 200 messages searched for a marker after a crash
REVOKED = {"invalid_auth", "token_revoked", "account_inactive", "not_authed"}


class TokenSource(Protocol):
    """Each workspace's bot token (many workspaces: the OAuth installation store)."""

    async def token(self, workspace_id: str) -> str | None: ...

    def forget(self, workspace_id: str) -> None: ...


class SlackChat:
    """One workspace with ``client``'s token, or, given ``tokens``, each workspace with its own.

    chat = SlackChat(client=client, tokens=installs.tokens, urls=core.workspace_url)
    """

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        base_url: str = "https://slack.com/",
        tokens: TokenSource | None = None,
        urls: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self._client = client
        self.base_url = base_url
        self._tokens = tokens
        self._urls = urls
        self._clients: dict[str, AsyncWebClient] = {}
        self._base_urls: dict[str, str] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._identities: dict[str, tuple[str, str]] = {}  # token → (bot user id, bot id)

    async def _client_for(self, workspace_id: str) -> AsyncWebClient:
        if self._tokens is None:
            return self._client
        token = await self._tokens.token(workspace_id)
        if token is None:
            raise DeliveryError(
                f"Firstline is not installed in workspace {workspace_id} (no bot token in the "
                "installation store); install it at /slack/install",
                permanent=True,
            )
        client = self._clients.get(workspace_id)
        if client is None or client.token != token:  # first use, or a reinstall
            client = AsyncWebClient(
                token=token,
                base_url=self._client.base_url,
                session=self._client.session,
                retry_handlers=self._client.retry_handlers,
                logger=self._client.logger,
            )
            self._clients[workspace_id] = client
        return client

    async def _base(self, workspace_id: str) -> str:
        """The workspace's own URL for permalinks (learned at install), else the default."""
        if self._urls is None:
            return self.base_url
        url = self._base_urls.get(workspace_id)
        if url is None:
            url = await self._urls(workspace_id)
            if not url:
                return self.base_url
            self._base_urls[workspace_id] = url
        return url

    async def post(
        self, *, workspace_id: str, channel: str, content: Content, thread_ts: str | None = None
    ) -> Delivered:
        args: dict[str, Any] = {
            "channel": channel,
            **render(content, base_url=await self._base(workspace_id)),
        }
        if thread_ts:
            args["thread_ts"] = thread_ts
        _mark(args, content)
        response = await self._call(workspace_id, "chat.postMessage", args, join_channel=channel)
        return Delivered(str(response["channel"]), str(response["ts"]))

    async def update(
        self, *, workspace_id: str, channel: str, ts: str, content: Content
    ) -> Delivered:
        args = {
            "channel": channel,
            "ts": ts,
            **render(content, base_url=await self._base(workspace_id)),
        }
        _mark(args, content)
        response = await self._call(workspace_id, "chat.update", args)
        return Delivered(str(response.get("channel", channel)), str(response.get("ts", ts)))

    async def dm(self, *, workspace_id: str, user: str, content: Content) -> Delivered:
        args: dict[str, Any] = {
            "channel": user,
            **render(content, base_url=await self._base(workspace_id)),
        }
        _mark(args, content)
        response = await self._call(workspace_id, "chat.postMessage", args)
        return Delivered(str(response["channel"]), str(response["ts"]))

    async def find_marked(
        self,
        *,
        workspace_id: str,
        channel: str,
        thread_ts: str | None,
        marker: str,
        since: float,
    ) -> Delivered | None:
        """The bot's message carrying ``marker`` in its metadata, posted or edited at or
        after ``since``, if it reached Slack.

        Looks through the thread ``thread_ts`` belongs to (``conversations.replies``) or
        the channel's messages since then (``conversations.history``; a user id means the
        DM with that user). An edit marks the message it edits, so the same lookup tells
        whether an edit was applied. Only this bot's messages count (another app can attach
        the same metadata), and only recent ones (an earlier install's are older).
        """
        if channel.startswith(("U", "W")):
            opened = await self._call(workspace_id, "conversations.open", {"users": channel})
            channel = str(opened["channel"]["id"])
        method = "conversations.replies" if thread_ts else "conversations.history"
        args: dict[str, Any] = {"channel": channel, "limit": 200, "include_all_metadata": True}
        if thread_ts:
            args["ts"] = thread_ts  # the edited parent is older than ``since``: no ``oldest``
        else:
            args["oldest"] = f"{since:.6f}"
        me = await self._identity(workspace_id)
        for _ in range(MARKER_PAGES):
            response = await self._call(workspace_id, method, args)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == MARKER_EVENT
                    and payload.get("id") == marker
                    and _posted_by(message, me)
                    and _last_written(message) >= since
                ):
                    return Delivered(channel, str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
            args["cursor"] = cursor
        return None

    async def _identity(self, workspace_id: str) -> tuple[str, str]:
        """This bot's (user id, bot id) in the workspace, from ``auth.test`` (kept per token:
        a reinstall may change them)."""
        client = await self._client_for(workspace_id)
        key = client.token or workspace_id
        known = self._identities.get(key)
        if known is None:
            auth = await self._call(workspace_id, "auth.test", {})
            known = (str(auth.get("user_id") or ""), str(auth.get("bot_id") or ""))
            self._identities[key] = known
        return known

    async def ephemeral(
        self, *, workspace_id: str, channel: str, user: str, content: Content
    ) -> Delivered:
        args: dict[str, Any] = {
            "channel": channel,
            "user": user,
            **render(content, base_url=await self._base(workspace_id)),
        }
        response = await self._call(workspace_id, "chat.postEphemeral", args)
        return Delivered(channel, str(response.get("message_ts") or ""))

    async def create_channel(
        self, *, workspace_id: str, name: str, is_private: bool = False
    ) -> Delivered:
        """Create the channel; a taken name gets a numbered suffix (inc-…-2, inc-…-3)."""
        client = await self._client_for(workspace_id)
        for candidate in channel_names(name):
            try:
                response = await client.api_call(
                    "conversations.create", json={"name": candidate, "is_private": is_private}
                )
            except SlackApiError as error:
                code = (
                    error.response.get("error") if isinstance(error.response.data, dict) else None
                )
                if code == "name_taken":
                    continue
                raise _delivery_error(error, code) from error
            except (TimeoutError, aiohttp.ClientError) as error:
                # Slack may have created it: the retry looks it up by name first.
                sent = not isinstance(error, aiohttp.ClientConnectorError)
                raise DeliveryError(f"conversations.create: {error!r}", uncertain=sent) from error
            return Delivered(str(response["channel"]["id"]), "", name=candidate)
        raise DeliveryError(f"every name like {name} is taken", permanent=True)

    async def find_channels(self, *, workspace_id: str, names: list[str]) -> dict[str, str]:
        wanted, found = set(names), {}
        cursor = ""
        for _ in range(100):  # up to 100,000 channels
            args: dict[str, Any] = {
                "types": "public_channel,private_channel",
                "exclude_archived": True,
                "limit": 1000,
            }
            if cursor:
                args["cursor"] = cursor
            page = await self._call(workspace_id, "conversations.list", args)
            for channel in page.get("channels") or []:
                if channel.get("name") in wanted:
                    found[str(channel["name"])] = str(channel["id"])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor or len(found) == len(wanted):
                break
        return found

    async def invite(self, *, workspace_id: str, channel: str, users: list[str]) -> Delivered:
        wanted = [u for u in dict.fromkeys(users) if u]
        if len(wanted) == 1:
            await self._invite_one(workspace_id, channel, wanted[0])
        elif wanted:
            try:
                await self._call(
                    workspace_id,
                    "conversations.invite",
                    {"channel": channel, "users": ",".join(wanted)},
                )
            except DeliveryError as error:
                # Some were already members or are deactivated: invite the rest one by one.
                if error.permanent:
                    raise
                for user in wanted:
                    await self._invite_one(workspace_id, channel, user)
        return Delivered(channel, "")

    async def _invite_one(self, workspace_id: str, channel: str, user: str) -> None:
        client = await self._client_for(workspace_id)
        try:
            await client.api_call("conversations.invite", json={"channel": channel, "users": user})
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code not in ("already_in_channel", "cant_invite_self", "user_not_found"):
                raise _delivery_error(error, code) from error

    async def pin(self, *, workspace_id: str, channel: str, ts: str) -> Delivered:
        client = await self._client_for(workspace_id)
        try:
            await client.api_call("pins.add", json={"channel": channel, "timestamp": ts})
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code != "already_pinned":
                raise _delivery_error(error, code) from error
        return Delivered(channel, ts)

    async def set_topic(self, *, workspace_id: str, channel: str, topic: str) -> Delivered:
        # Topics are plain text: Slack shows "<@U123>" there literally, so use names.
        plain = topic
        for user in dict.fromkeys(_MENTION.findall(topic)):
            plain = re.sub(
                rf"<@{user}(\|[^>]*)?>", f"@{await self.display_name(workspace_id, user)}", plain
            )
        await self._call(
            workspace_id, "conversations.setTopic", {"channel": channel, "topic": plain[:250]}
        )
        return Delivered(channel, "")

    async def display_name(self, workspace_id: str, user: str) -> str:
        """The person's name as Slack shows it (cached), or the id when Slack won't say."""
        key = (workspace_id, user)
        if key not in self._names:
            client = await self._client_for(workspace_id)
            try:
                info = (await client.users_info(user=user)).get("user") or {}
            except SlackApiError:
                return user
            profile = info.get("profile") or {}
            self._names[key] = str(
                profile.get("display_name") or info.get("real_name") or info.get("name") or user
            )
        return self._names[key]

    async def people_names(self, workspace_id: str, users: list[str]) -> dict[str, str]:
        """``display_name`` of each user (the ``bot.people.Directory`` lookup)."""
        return {user: await self.display_name(workspace_id, user) for user in users}

    async def channel_name(self, workspace_id: str, channel: str) -> str | None:
        """The channel's name (cached), or None when Slack won't say."""
        key = (workspace_id, f"#{channel}")
        if key not in self._names:
            client = await self._client_for(workspace_id)
            try:
                info = (await client.conversations_info(channel=channel)).get("channel") or {}
            except SlackApiError:
                return None
            if not info.get("name"):
                return None
            self._names[key] = str(info["name"])
        return self._names[key]

    async def set_group_members(
        self, *, workspace_id: str, group: str, users: list[str]
    ) -> Delivered:
        await self._call(
            workspace_id, "usergroups.users.update", {"usergroup": group, "users": ",".join(users)}
        )
        return Delivered(group, "")

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
        client = await self._client_for(workspace_id)
        try:
            response = await client.files_upload_v2(
                channel=channel,
                filename=filename,
                content=content,  # text, or the bytes of a PNG chart
                title=title,
                initial_comment=comment or None,
            )
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            raise _delivery_error(error, code) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            # Slack may have shared it: the retry looks for it first.
            sent = not isinstance(error, aiohttp.ClientConnectorError)
            raise DeliveryError(f"files upload: {error!r}", uncertain=sent) from error
        file = (response.get("files") or [{}])[0]
        return Delivered(channel, str(file.get("id") or ""))

    async def find_upload(
        self, *, workspace_id: str, channel: str, filename: str, title: str, since: float
    ) -> Delivered | None:
        args: dict[str, Any] = {"channel": channel, "limit": 200, "oldest": f"{since:.6f}"}
        me = await self._identity(workspace_id)
        for _ in range(MARKER_PAGES):
            response = await self._call(workspace_id, "conversations.history", args)
            for message in response.get("messages") or []:
                if not _posted_by(message, me):
                    continue  # someone else's file of the same name is not ours
                for file in message.get("files") or []:
                    if file.get("name") == filename and file.get("title") == title:
                        return Delivered(channel, str(file.get("id") or ""))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
            args["cursor"] = cursor
        return None

    async def publish_home(
        self, *, workspace_id: str, user: str, sections: list[Content]
    ) -> Delivered:
        """The user's Home tab (views.publish replaces it whole, so republishing is safe)."""
        blocks: list[dict[str, Any]] = []
        base_url = await self._base(workspace_id)
        for section in sections:
            if blocks:
                blocks.append({"type": "divider"})
            blocks.extend(render_blocks(section, base_url=base_url))
        await self._call(
            workspace_id,
            "views.publish",
            {"user_id": user, "view": {"type": "home", "blocks": blocks[:100]}},
        )
        return Delivered(user, "")

    async def _call(
        self,
        workspace_id: str,
        method: str,
        args: dict[str, Any],
        *,
        join_channel: str | None = None,
    ) -> Any:
        client = await self._client_for(workspace_id)
        try:
            return await client.api_call(method, json=args)
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code == "not_in_channel" and join_channel and join_channel.startswith("C"):
                await self._join(client, join_channel)
                return await self._call(workspace_id, method, args)
            if code in REVOKED and self._tokens is not None:
                self._tokens.forget(workspace_id)
            raise _delivery_error(error, code) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            # Refused before sending: certainly not delivered. Anything later: maybe it was.
            sent = not isinstance(error, aiohttp.ClientConnectorError)
            raise DeliveryError(
                f"{method}: {type(error).__name__}: {error}", uncertain=sent
            ) from error

    async def _join(self, client: AsyncWebClient, channel: str) -> None:
        try:
            await client.conversations_join(channel=channel)
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            raise _delivery_error(error, code) from error


def _mark(args: dict[str, Any], content: Content) -> None:
    if content.marker:
        args["metadata"] = {"event_type": MARKER_EVENT, "event_payload": {"id": content.marker}}


def _delivery_error(error: SlackApiError, code: str | None) -> DeliveryError:
    status = error.response.status_code
    if status == 429 or code == "ratelimited":
        retry_after = error.response.headers.get("Retry-After") or error.response.headers.get(
            "retry-after"
        )
        try:
            seconds = float(retry_after) if retry_after is not None else 30.0
        except (TypeError, ValueError):
            seconds = 30.0
        return DeliveryError(f"rate limited for {seconds:g}s", retry_after=seconds)
    if status >= 500:
        return DeliveryError(f"Slack answered {status}", uncertain=True)
    if code in PERMANENT_ERRORS:
        return DeliveryError(f"Slack refused: {code}", permanent=True)
    return DeliveryError(f"Slack error: {code or status}")


def slack_directory(*, token: str, api_url: str) -> Directory:
    """Names from Slack for a process without a server (the CLI)."""
    chat = SlackChat(client=AsyncWebClient(token=token, base_url=api_url))
    return Directory(people=chat.people_names, channel=chat.channel_name)


def _posted_by(message: dict[str, Any], me: tuple[str, str]) -> bool:
    """Whether this bot posted the message: Slack puts the app's ``bot_id`` (and its bot
    user's id in ``user``) on what the bot posts."""
    user, bot_id = me
    if message.get("bot_id"):
        return bool(bot_id) and message.get("bot_id") == bot_id
    return bool(user) and message.get("user") == user


def _last_written(message: dict[str, Any]) -> float:
    """When the message was posted or, if edited, last changed (epoch seconds)."""
    edited = message.get("edited") or {}
    try:
        return max(float(message.get("ts") or 0), float(edited.get("ts") or 0))
    except (TypeError, ValueError):
        return 0.0
