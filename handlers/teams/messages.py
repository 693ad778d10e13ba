"""What Firstline says in Teams only (everything else comes from ``bot/messages.py``)."""

from __future__ import annotations

import re

from bot.content import Content

# Slack's emoji shortcodes that Firstline's own texts use, as the characters Teams shows.
EMOJI = {
    "eyes": "👀",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "fire": "🔥",
    "ticket": "🎫",
    "+1": "👍",
    "warning": "⚠️",
    "rotating_light": "🚨",
}
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
_ADMINS = re.compile(
    r"Only workspace admins and owners \(or people (?:listed )?in FIRSTLINE_ADMINS\)"
)
_REACT_HELP = "Acknowledge with :eyes:, close with :white_check_mark:, or reply in the thread."
TEAMS_REACT_HELP = (
    "Answer in the request's reply chain or press “I'm on it”. Teams tells bots about "
    "reactions on their own messages only, so 👀 and ✅ on a person's post are not seen."
)


def teams_wording(text: str) -> str:
    """Firstline's shared texts with the Slack-only parts said the Teams way."""
    text = text.replace(_REACT_HELP, TEAMS_REACT_HELP)
    text = _ADMINS.sub("Only Firstline admins (the Entra object ids in FIRSTLINE_ADMINS)", text)
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def what_to_type(bot_name: str, text: str) -> Content:
    heard = f'I don\'t know "{text[:80]}". ' if text else ""
    return Content(
        text=(
            f"{heard}Mention me with a command, the same as Slack's slash commands:\n"
            f"- `@{bot_name} support help`, e.g. `@{bot_name} support watch requests target=5m`\n"
            f"- `@{bot_name} rota help`, e.g. `@{bot_name} rota who`\n"
            f"- `@{bot_name} incident help`, e.g. `@{bot_name} incident handoff commander @Beth`"
        )
    )


def choose_by_command(bot_name: str) -> Content:
    return Content(
        text=(
            f"Teams has no pickers here: choose the pair with "
            f"`@{bot_name} rota choose @first @second [fallback=@someone]` in the rota channel."
        )
    )


def went_wrong(ref: str) -> Content:
    return Content(
        text=f"Something went wrong on Firstline's side (ref {ref}); nothing was changed. "
        "Try again in a minute, or ask your admin to check the logs."
    )


def with_shell_ids(answer: Content, *, workspace_id: str, channel_id: str) -> Content:
    hint = f"For the shell: firstline stats --workspace {workspace_id} --channel {channel_id}"
    context = f"{answer.context}\n{hint}" if answer.context else hint
    return Content(text=answer.text, fields=answer.fields, buttons=answer.buttons, context=context)
