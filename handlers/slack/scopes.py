"""The Slack bot scopes Firstline needs, each with the feature that needs it.

One list for everything that asks for or checks scopes: ``manifest.yml`` must list exactly
these (a test compares them), the OAuth install asks for them (unless ``SLACK_SCOPES``
overrides it) and ``firstline doctor`` compares them with what a token was granted.
"""

from __future__ import annotations

BOT_SCOPES: dict[str, str] = {
    "channels:history": "public watched channels' messages; crash recovery looks up sent ones",
    "groups:history": "messages in private watched channels; crash recovery there",
    "im:history": "crash recovery looks up DMs already sent (nudges, second-line escalations)",
    "channels:join": "/support watch joins a public channel by itself",
    "channels:manage": "incident channels: create, invite, set the topic",
    "groups:write": "topics and invitations in private channels",
    "chat:write": "every message Firstline posts or edits",
    "chat:write.public": "posting in public channels it has not joined",
    "commands": "the /support, /incident and /rota slash commands",
    "reactions:read": "reactions: :eyes:, :white_check_mark:, :fire:, :ticket:, :pushpin:",
    "users:read": "admin checks and people's time zones",
    "usergroups:write": "setting the rota's user group to the week's pair",
    "im:write": "DMs: nudges, escalations, rota and incident reminders",
    "pins:write": "pinning the incident ticket",
    "files:write": "the weekly report's charts and the postmortem file",
}


def default_scopes() -> str:
    """What the OAuth install asks a workspace for, comma-separated."""
    return ",".join(BOT_SCOPES)


def granted(header: str | None) -> set[str]:
    """The scopes in Slack's ``x-oauth-scopes`` response header."""
    return {scope.strip() for scope in (header or "").split(",") if scope.strip()}
