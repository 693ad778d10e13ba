"""The bot's membership of a channel it is asked to watch.

Slack sends message events only for channels the bot is a member of, so ``/support watch``
joins a public channel itself (``conversations.join``, scope ``channels:join``). A private
channel cannot be joined: someone must ``/invite`` the bot, and until then the channel is
not watched, because it would measure nothing.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UsageError

log = logging.getLogger(__name__)

# Errors that mean "the bot cannot join this channel by itself".
_NEEDS_INVITE = {
    "method_not_supported_for_channel_type",  # private channel
    "channel_not_found",  # private channel the bot cannot see
    "not_in_channel",
    "is_archived",
    "missing_scope",  # an install without channels:join
    "restricted_action",
}


async def join_to_watch(client: AsyncWebClient, *, channel_id: str) -> None:
    """Make the bot a member of ``channel_id``, or raise a ``UsageError`` saying what to do."""
    if channel_id.startswith("D"):
        raise UsageError("A direct message cannot be watched; run /support watch in a channel.")
    try:
        await client.conversations_join(channel=channel_id)
    except SlackApiError as error:
        code = str(error.response.get("error") or "")
        log.info("conversations.join %s: %s", channel_id, code)
        if await is_member(client, channel_id=channel_id):
            return  # a private channel the bot was invited to: nothing to join
        if code in _NEEDS_INVITE:
            reason = {
                "is_archived": "this channel is archived",
                "missing_scope": "the app was installed without the channels:join scope",
            }.get(code, "I can't join this channel by myself (it is private)")
            raise UsageError(
                f"Not watching: {reason}, and Slack only tells me about channels I'm in. "
                "Invite me with /invite @Firstline, then run /support watch again."
            ) from error
        raise UsageError(
            f"Not watching: Slack refused to add me to this channel ({code}). Invite me with "
            "/invite @Firstline, then run /support watch again."
        ) from error
    except (TimeoutError, aiohttp.ClientError) as error:
        raise UsageError(
            "Not watching: I could not reach Slack to join this channel. Try again in a minute."
        ) from error


async def is_member(client: AsyncWebClient, *, channel_id: str) -> bool:
    """Can the bot read the channel? (Reading needs membership; the history scopes suffice,
    so no ``channels:read`` is asked for.)"""
    try:
        await client.conversations_history(channel=channel_id, limit=1)
    except SlackApiError:
        return False
    return True
