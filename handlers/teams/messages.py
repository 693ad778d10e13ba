"""What Firstline says in Teams only (everything else comes from ``bot/messages.py``)."""

from __future__ import annotations

from bot.content import Content


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
