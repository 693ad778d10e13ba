"""``SlackChat``: the chat port over Slack's Web API, used only by the outbox deliverer.

Rate limits and server errors become ``DeliveryError`` with the right retry time, so
the outbox (which survives restarts) does the waiting instead of a blocked client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.content import Content, Delivered, DeliveryError
from handlers.slack.blocks import render

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


class SlackChat:
    def __init__(self, *, client: AsyncWebClient, base_url: str = "https://slack.com/") -> None:
        self._client = client
        self.base_url = base_url
        self._names: dict[str, str] = {}

    async def post(
        self, *, workspace_id: str, channel: str, content: Content, thread_ts: str | None = None
    ) -> Delivered:
        args: dict[str, Any] = {"channel": channel, **render(content, base_url=self.base_url)}
        if thread_ts:
            args["thread_ts"] = thread_ts
        _mark(args, content)
        response = await self._call("chat.postMessage", args, join_channel=channel)
        return Delivered(str(response["channel"]), str(response["ts"]))

    async def update(
        self, *, workspace_id: str, channel: str, ts: str, content: Content
    ) -> Delivered:
        args = {"channel": channel, "ts": ts, **render(content, base_url=self.base_url)}
        _mark(args, content)
        response = await self._call("chat.update", args)
        return Delivered(str(response.get("channel", channel)), str(response.get("ts", ts)))

    async def dm(self, *, workspace_id: str, user: str, content: Content) -> Delivered:
        args: dict[str, Any] = {"channel": user, **render(content, base_url=self.base_url)}
        _mark(args, content)
        response = await self._call("chat.postMessage", args)
        return Delivered(str(response["channel"]), str(response["ts"]))

    async def find_marked(
        self, *, workspace_id: str, channel: str, thread_ts: str | None, marker: str
    ) -> Delivered | None:
        """The bot's message carrying ``marker`` in its metadata, if it reached Slack.

        Looks through the thread ``thread_ts`` belongs to (``conversations.replies``) or
        the channel's newest messages (``conversations.history``; a user id means the DM
        with that user). An edit marks the message it edits, so the same lookup tells
        whether an edit was applied.
        """
        if channel.startswith(("U", "W")):
            opened = await self._call("conversations.open", {"users": channel})
            channel = str(opened["channel"]["id"])
        method = "conversations.replies" if thread_ts else "conversations.history"
        args: dict[str, Any] = {"channel": channel, "limit": 200, "include_all_metadata": True}
        if thread_ts:
            args["ts"] = thread_ts
        for _ in range(MARKER_PAGES):
            response = await self._call(method, args)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == MARKER_EVENT and payload.get("id") == marker:
                    return Delivered(channel, str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
            args["cursor"] = cursor
        return None

    async def ephemeral(
        self, *, workspace_id: str, channel: str, user: str, content: Content
    ) -> Delivered:
        args: dict[str, Any] = {
            "channel": channel,
            "user": user,
            **render(content, base_url=self.base_url),
        }
        response = await self._call("chat.postEphemeral", args)
        return Delivered(channel, str(response.get("message_ts") or ""))

    async def create_channel(
        self, *, workspace_id: str, name: str, is_private: bool = False
    ) -> Delivered:
        """Create the channel; a taken name gets a numbered suffix (inc-…-2, inc-…-3)."""
        for attempt in range(1, 10):
            candidate = name if attempt == 1 else f"{name[:76]}-{attempt}"
            try:
                response = await self._client.api_call(
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
                raise DeliveryError(f"conversations.create: {error!r}") from error
            return Delivered(str(response["channel"]["id"]), "")
        raise DeliveryError(f"every name like {name} is taken", permanent=True)

    async def invite(self, *, workspace_id: str, channel: str, users: list[str]) -> Delivered:
        wanted = [u for u in dict.fromkeys(users) if u]
        if len(wanted) == 1:
            await self._invite_one(channel, wanted[0])
        elif wanted:
            try:
                await self._call(
                    "conversations.invite", {"channel": channel, "users": ",".join(wanted)}
                )
            except DeliveryError as error:
                # Some were already members or are deactivated: invite the rest one by one.
                if error.permanent:
                    raise
                for user in wanted:
                    await self._invite_one(channel, user)
        return Delivered(channel, "")

    async def _invite_one(self, channel: str, user: str) -> None:
        try:
            await self._client.api_call(
                "conversations.invite", json={"channel": channel, "users": user}
            )
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code not in ("already_in_channel", "cant_invite_self", "user_not_found"):
                raise _delivery_error(error, code) from error

    async def pin(self, *, workspace_id: str, channel: str, ts: str) -> Delivered:
        try:
            await self._client.api_call("pins.add", json={"channel": channel, "timestamp": ts})
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code != "already_pinned":
                raise _delivery_error(error, code) from error
        return Delivered(channel, ts)

    async def set_topic(self, *, workspace_id: str, channel: str, topic: str) -> Delivered:
        # Topics are plain text: Slack shows "<@U123>" there literally, so use names.
        plain = topic
        for user in dict.fromkeys(_MENTION.findall(topic)):
            plain = re.sub(rf"<@{user}(\|[^>]*)?>", f"@{await self._name(user)}", plain)
        await self._call("conversations.setTopic", {"channel": channel, "topic": plain[:250]})
        return Delivered(channel, "")

    async def _name(self, user: str) -> str:
        if user not in self._names:
            try:
                info = (await self._client.users_info(user=user)).get("user") or {}
            except SlackApiError:
                return user
            profile = info.get("profile") or {}
            self._names[user] = str(
                profile.get("display_name") or info.get("real_name") or info.get("name") or user
            )
        return self._names[user]

    async def set_group_members(
        self, *, workspace_id: str, group: str, users: list[str]
    ) -> Delivered:
        await self._call("usergroups.users.update", {"usergroup": group, "users": ",".join(users)})
        return Delivered(group, "")

    async def upload(
        self,
        *,
        workspace_id: str,
        channel: str,
        filename: str,
        content: str,
        title: str,
        comment: str = "",
    ) -> Delivered:
        try:
            response = await self._client.files_upload_v2(
                channel=channel,
                filename=filename,
                content=content,
                title=title,
                initial_comment=comment or None,
            )
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            raise _delivery_error(error, code) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(f"files upload: {error!r}") from error
        file = (response.get("files") or [{}])[0]
        return Delivered(channel, str(file.get("id") or ""))

    async def _call(
        self, method: str, args: dict[str, Any], *, join_channel: str | None = None
    ) -> Any:
        try:
            return await self._client.api_call(method, json=args)
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code == "not_in_channel" and join_channel and join_channel.startswith("C"):
                await self._join(join_channel)
                return await self._call(method, args)
            raise _delivery_error(error, code) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            # Refused before sending: certainly not delivered. Anything later: maybe it was.
            sent = not isinstance(error, aiohttp.ClientConnectorError)
            raise DeliveryError(
                f"{method}: {type(error).__name__}: {error}", uncertain=sent
            ) from error

    async def _join(self, channel: str) -> None:
        try:
            await self._client.conversations_join(channel=channel)
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
