"""How a watched channel is configured, validated the same way from Slack, Teams and the CLI.

settings = WatchSettings.build(kind="requests", target="5m", hours="Mon-Fri 10:00-18:00",
                               tz="Europe/Berlin", holidays="DE")
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.durations import parse_duration
from bot.errors import UsageError
from bot.hours import BusinessHours

KINDS = ("requests", "alerts")
# The options ``WatchSettings.with_changes`` takes, the same in chat and on the command line.
WATCH_OPTIONS = (
    "target",
    "responders",
    "hours",
    "tz",
    "holidays",
    "escalate",
    "ack",
    "done",
    "offhours",
    "noise",
    "noise_words",
    "burst",
    "next",
    "resolve",
    "waiting",
)
RESPONDER_MODES = ("anyone", "team")
DEFAULT_ACK = ("eyes",)
DEFAULT_DONE = ("white_check_mark", "heavy_check_mark")
DEFAULT_BURST_SECONDS = 180
# "?" stands for a responder's thread reply ending with a question mark.
QUESTION = "?"
DEFAULT_WAITING = (QUESTION, "hourglass", "hourglass_flowing_sand")
_OFF = ("off", "none", "no", "0")

_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,})$")
_GROUP = re.compile(r"^<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>$|^(S[A-Z0-9]{2,})$")
_EMOJI = re.compile(r"^:?([a-z0-9_+\-']+):?$")


def parse_user(token: str) -> str | None:
    """A user id from "<@U123|anna>", "<@U123>" or "U123"; None if it is not one."""
    match = _USER.match(token.strip())
    return (match.group(1) or match.group(2)) if match else None


OFFHOURS = ("wait", "page")
_PAGING = re.compile(r"^(pagerduty|webhook):([a-z0-9][a-z0-9_-]{0,39})$")


def parse_escalate(token: str) -> str:
    """The escalation target as a mention: "<@U123>" for a person, "<!subteam^S1>" for a group,
    or a paging target the operator configured: "pagerduty:payments", "webhook:oncall"."""
    kind, colon, name = token.strip().partition(":")
    if colon and kind.lower() in ("pagerduty", "webhook"):
        if not _PAGING.match(f"{kind.lower()}:{name.lower()}"):
            raise UsageError(
                f'escalate: "{token}" is not a paging target name. Write {kind.lower()}:<name> '
                "with the name the operator configured (letters, digits, - and _), e.g. "
                "escalate=pagerduty:payments; `firstline paging list` shows them."
            )
        return f"{kind.lower()}:{name.lower()}"
    user = parse_user(token)
    if user:
        return f"<@{user}>"
    group = _GROUP.match(token.strip())
    if group:
        return f"<!subteam^{group.group(1) or group.group(2)}>"
    raise UsageError(
        f'escalate: "{token}" is not a person or a user group. '
        "Mention one, e.g. escalate=@maria or escalate=@backend-leads, or name a paging "
        "target: escalate=pagerduty:payments or escalate=webhook:oncall."
    )


def parse_emojis(text: str, *, name: str) -> tuple[str, ...]:
    names = []
    for part in text.split(","):
        match = _EMOJI.match(part.strip())
        if not match:
            raise UsageError(
                f'{name}: "{part}" is not an emoji name. Write e.g. {name}=eyes,raised_hands.'
            )
        names.append(match.group(1))
    return tuple(names)


@dataclass(frozen=True)
class WatchSettings:
    kind: str
    target_seconds: int = 300
    responders_mode: str = "anyone"
    hours: str = "always"
    tz: str = "UTC"
    holidays: str | None = None
    escalate: str | None = None
    ack_emojis: tuple[str, ...] = DEFAULT_ACK
    done_emojis: tuple[str, ...] = DEFAULT_DONE
    responders: tuple[str, ...] = field(default_factory=tuple)
    # Request quality (docs/measurement.md); noise=False restores the plain request rules.
    noise: bool = True
    noise_added: tuple[str, ...] = ()
    noise_removed: tuple[str, ...] = ()
    burst_seconds: int = DEFAULT_BURST_SECONDS
    next_target_seconds: int | None = None
    resolve_target_seconds: int | None = None
    waiting: tuple[str, ...] = DEFAULT_WAITING
    offhours: str = "wait"  # "page": out of business hours, page the paging target anyway

    @classmethod
    def build(cls, *, kind: str, **options: str | None) -> WatchSettings:
        """Validate ``kind`` and every option (see ``with_changes``), naming the first bad one."""
        return cls(kind=_kind(kind)).with_changes(**options)

    def with_changes(
        self,
        *,
        target: str | None = None,
        responders: str | None = None,
        hours: str | None = None,
        tz: str | None = None,
        holidays: str | None = None,
        escalate: str | None = None,
        ack: str | None = None,
        done: str | None = None,
        noise: str | None = None,
        noise_words: str | None = None,
        burst: str | None = None,
        next: str | None = None,  # the option's name as people type it (/support watch next=30m)
        resolve: str | None = None,
        waiting: str | None = None,
        offhours: str | None = None,
    ) -> WatchSettings:
        changed = self
        if target is not None:
            changed = replace(changed, target_seconds=parse_duration(target, name="target"))
        if responders is not None:
            mode = responders.strip().lower()
            if mode not in RESPONDER_MODES:
                raise UsageError(
                    f'responders: "{responders}" is not a mode. Write responders=anyone '
                    "(any person but the requester answers) or responders=team (only the "
                    "channel's responders; set them with /support responders @a @b)."
                )
            changed = replace(changed, responders_mode=mode)
        if holidays is not None:
            code = holidays.strip().upper()
            changed = replace(changed, holidays=None if code in ("", "NONE", "OFF") else code)
        if hours is not None or tz is not None or holidays is not None:
            parsed = BusinessHours.parse(
                hours if hours is not None else changed.hours,
                tz=tz if tz is not None else changed.tz,
                holidays=changed.holidays,
            )
            changed = replace(
                changed, hours=parsed.spec, tz=parsed.tz, holidays=parsed.holidays_code
            )
        if escalate is not None:
            changed = replace(changed, escalate=parse_escalate(escalate))
        if ack is not None:
            changed = replace(changed, ack_emojis=parse_emojis(ack, name="ack"))
        if done is not None:
            changed = replace(changed, done_emojis=parse_emojis(done, name="done"))
        if noise is not None:
            changed = replace(changed, noise=_on_off(noise, name="noise"))
        if noise_words is not None:
            added, removed = parse_noise_words(
                noise_words, added=changed.noise_added, removed=changed.noise_removed
            )
            changed = replace(changed, noise_added=added, noise_removed=removed)
        if burst is not None:
            seconds = 0 if burst.strip().lower() in _OFF else parse_duration(burst, name="burst")
            changed = replace(changed, burst_seconds=seconds)
        if next is not None:
            changed = replace(changed, next_target_seconds=_optional_duration(next, name="next"))
        if resolve is not None:
            changed = replace(
                changed, resolve_target_seconds=_optional_duration(resolve, name="resolve")
            )
        if waiting is not None:
            changed = replace(changed, waiting=parse_waiting(waiting))
        if offhours is not None:
            policy = offhours.strip().lower()
            if policy not in OFFHOURS:
                raise UsageError(
                    f'offhours: "{offhours}" is not a policy. Write offhours=wait (the ladder '
                    "waits for business hours) or offhours=page (page the paging target out "
                    "of hours too; needs escalate=pagerduty:<name> or webhook:<name>)."
                )
            changed = replace(changed, offhours=policy)
        return changed

    def business_hours(self) -> BusinessHours:
        return BusinessHours.from_stored(self.hours, self.tz, self.holidays)


def _on_off(value: str, *, name: str) -> bool:
    word = value.strip().lower()
    if word not in ("on", "off"):
        raise UsageError(f'{name}: "{value}" is not on or off. Write {name}=on or {name}=off.')
    return word == "on"


def _optional_duration(value: str, *, name: str) -> int | None:
    if value.strip().lower() in _OFF:
        return None
    return parse_duration(value, name=name)


def parse_noise_words(
    text: str, *, added: tuple[str, ...], removed: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Edit a channel's noise list: "+passt,-hi" adds and removes phrases, "default" resets."""
    if text.strip().lower() in ("default", "reset"):
        return (), ()
    plus, minus = list(added), list(removed)
    for part in text.split(","):
        phrase = " ".join(part.strip().lower().split())
        sign, phrase = (phrase[0], phrase[1:].strip()) if phrase[:1] in "+-" else ("+", phrase)
        if not phrase or len(phrase) > 60 or "?" in phrase:
            raise UsageError(
                f'noise_words: "{part.strip()}" is not a phrase. Write e.g. '
                'noise_words="+passt schon,-hi" (+ adds, - removes; default restores the list).'
            )
        if sign == "+":
            plus = [*[p for p in plus if p != phrase], phrase]
            minus = [p for p in minus if p != phrase]
        else:
            minus = [*[p for p in minus if p != phrase], phrase]
            plus = [p for p in plus if p != phrase]
    return tuple(plus), tuple(minus)


def parse_waiting(text: str) -> tuple[str, ...]:
    """What puts a request in "waiting on requester": "?" and/or reaction emoji names."""
    if text.strip().lower() in _OFF:
        return ()
    parts = [p.strip() for p in text.split(",") if p.strip()]
    emojis = [p for p in parts if p != QUESTION]
    names = parse_emojis(",".join(emojis), name="waiting") if emojis else ()
    return ((QUESTION,) if QUESTION in parts else ()) + names


def _kind(kind: str) -> str:
    value = (kind or "").strip().lower()
    if value not in KINDS:
        raise UsageError(
            f'"{kind}" is not something I watch. Write /support watch requests (people ask '
            "for help here) or /support watch alerts (integrations post errors here)."
        )
    return value
