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
        response = await self._call("chat.postMessage", args, join_channel=channel)
        return Delivered(str(response["channel"]), str(response["ts"]))

    async def update(
        self, *, workspace_id: str, channel: str, ts: str, content: Content
    ) -> Delivered:
        args = {"channel": channel, "ts": ts, **render(content, base_url=self.base_url)}
        response = await self._call("chat.update", args)
        return Delivered(str(response.get("channel", channel)), str(response.get("ts", ts)))

    async def dm(self, *, workspace_id: str, user: str, content: Content) -> Delivered:
        args: dict[str, Any] = {"channel": user, **render(content, base_url=self.base_url)}
        response = await self._call("chat.postMessage", args)
        return Delivered(str(response["channel"]), str(response["ts"]))

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
        content: str | bytes,
        title: str,
        comment: str = "",
    ) -> Delivered:
        try:
            response = await self._client.files_upload_v2(
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
            raise DeliveryError(f"files upload: {error!r}") from error
        file = (response.get("files") or [{}])[0]
        return Delivered(channel, str(file.get("id") or ""))

    async def publish_home(
        self, *, workspace_id: str, user: str, sections: list[Content]
    ) -> Delivered:
        """The user's Home tab (views.publish replaces it whole, so republishing is safe)."""
        blocks: list[dict[str, Any]] = []
        for section in sections:
            if blocks:
                blocks.append({"type": "divider"})
            blocks.extend(render_blocks(section, base_url=self.base_url))
        await self._call(
            "views.publish", {"user_id": user, "view": {"type": "home", "blocks": blocks[:100]}}
        )
        return Delivered(user, "")

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
            raise DeliveryError(f"{method}: {type(error).__name__}: {error}") from error

    async def _join(self, channel: str) -> None:
        try:
            await self._client.conversations_join(channel=channel)
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            raise _delivery_error(error, code) from error


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
        return DeliveryError(f"Slack answered {status}")
    if code in PERMANENT_ERRORS:
        return DeliveryError(f"Slack refused: {code}", permanent=True)
    return DeliveryError(f"Slack error: {code or status}")
