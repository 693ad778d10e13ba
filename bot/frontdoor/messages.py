"""What the front door says when it refuses, the same on every platform.

Every function takes the command ``prefix`` ("/" on Slack, "@Firstline " on Teams) or the
``platform`` where wording differs, so no answer is rewritten after the fact.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.content import Content
from bot.frontdoor.rules import WHO_SAYS, Needs, Rule, Who

# Rules that mean particular people name them in a refusal; members and pairs stay a phrase.
NAMEABLE = frozenset({Who.NAMED, Who.LEAD, Who.COMMANDER})

ADMINS = {
    "slack": "workspace admins and owners (or people in FIRSTLINE_ADMINS)",
    "teams": "Firstline admins (FIRSTLINE_ADMINS)",
}


def admins(platform: str) -> str:
    return ADMINS.get(platform, "Firstline admins (FIRSTLINE_ADMINS)")


def not_allowed(
    rule: Rule, *, platform: str, people: Mapping[Who, frozenset[str]] | None = None
) -> Content:
    """ "Only … can …", naming the people where the rule means particular ones."""
    named = {
        who: " and ".join(f"<@{u}>" for u in sorted(users))
        for who, users in (people or {}).items()
        if users and who in NAMEABLE
    }
    parts = []
    for who in rule.who:
        if who is Who.ADMIN:
            parts.append(admins(platform))
        elif who is Who.NAMED and who in named:
            parts.append(named[who])
        elif who in named:
            parts.append(f"{WHO_SAYS[who]} ({named[who]})")
        else:
            parts.append(WHO_SAYS[who])
    who_text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    return Content(text=f"Only {who_text} can {rule.does}; nothing changed.")


def needs(rule: Rule, *, need: Needs, prefix: str) -> Content:
    typed = f"`{prefix}{rule.key}`"
    if need is Needs.CHANNEL:
        text = f"{typed} works in a channel: type it in the channel you mean, not in this chat."
    elif need is Needs.WATCHED:
        text = (
            f"This channel is not watched, so {typed} has nothing to work on. An admin can "
            f"start with `{prefix}support watch requests target=5m` "
            f"(or `{prefix}support watch alerts`)."
        )
    elif need is Needs.ROTA:
        text = (
            f"This channel has no rota yet. Start one here with `{prefix}rota config "
            f"tz=Europe/Berlin` (then `{prefix}rota add @name prod` for each person)."
        )
    else:
        text = (
            f"Run {typed} inside the incident's channel (#inc-…). "
            f"`{prefix}incident list` shows them."
        )
    return Content(text=f"{text} Nothing changed.")


def gone(what: str) -> Content:
    """A button whose object is missing or belongs to another workspace: the same answer for
    both, so a forged id learns nothing."""
    return Content(text=f"That {what} no longer exists here; nothing changed.")


def untracked() -> Content:
    """Triage on a message that is no request here (or is in another workspace: the same
    answer, so a forged reference learns nothing)."""
    return Content(
        text="Triage works on requests Firstline tracks: use it on the first message of a "
        "request in a watched channel. Nothing changed."
    )


def settled(text: str) -> Content:
    return Content(text=f"{text}; nothing changed.")


def nothing_attached() -> Content:
    return Content(text="This button has nothing attached; nothing changed.")
