"""One grammar for commands typed in Slack (`/support …`) and Teams (`@Firstline support …`).

    command = parse_support('watch requests target=5m hours="Mon-Fri 10:00-18:00"')

Every rejection is a ``UsageError`` naming the bad token and the right form.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from bot.channel_settings import WATCH_OPTIONS, parse_user
from bot.commands import (
    SupportCommand,
    SupportHelp,
    SupportResponders,
    SupportStats,
    SupportStatus,
    SupportUnwatch,
    SupportWatch,
)
from bot.errors import UsageError
from bot.incidents import commands as inc
from bot.incidents.commands import IncidentCommand
from bot.incidents.phrases import DEFAULT_ROLES, canonical_role
from bot.reports.commands import ReportCommand
from bot.reports.slo import parse_objective
from bot.reports.weeks import IsoWeek
from bot.rota.commands import RotaCommand
from bot.support_ops import (
    FaqAdd,
    FaqList,
    FaqRemove,
    FaqSwitch,
    OpsCommand,
    SuggestForget,
    SuggestSwitch,
    TemplateList,
    TemplateSet,
)
from bot.toil.service import parse_month
from bot.triage.categories import parse_category

WATCH_FORM = (
    "/support watch requests|alerts [target=5m] [responders=anyone|team] "
    '[hours=always|"Mon-Fri 10:00-18:00"] [tz=Europe/Berlin] [holidays=DE] '
    "[escalate=@user|@group|pagerduty:<name>|webhook:<name>] [offhours=wait|page] [faq=on|off] "
    "[noise=on|off] [noise_words=+phrase,-phrase] "
    "[burst=3m|off] [next=30m|off] [resolve=1d|off] [waiting=?,hourglass|off]"
)
_SMART_QUOTES = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "«": '"', "»": '"'}
)
_WINDOW = re.compile(r"^(\d{1,3})d$")


# ASCII digits, short: "²".isdigit() is true but int("²") fails, and an action number
# must fit the database's integer.
_NUMBER = re.compile(r"[0-9]{1,6}")


def tokenize(text: str) -> list[str]:
    """Split like a shell, tolerating the curly quotes Slack clients type."""
    try:
        return shlex.split((text or "").translate(_SMART_QUOTES))
    except ValueError:
        raise UsageError(
            "A quote is not closed. Put values with spaces in straight quotes, "
            'e.g. hours="Mon-Fri 10:00-18:00".'
        ) from None


def parse_support(text: str) -> SupportCommand:
    tokens = tokenize(text)
    if not tokens:
        return SupportHelp()
    verb, args = tokens[0].lower(), tokens[1:]
    if verb in ("help", "-h", "--help", "?"):
        return SupportHelp()
    if verb == "watch":
        return _watch(args)
    if verb == "unwatch":
        _no_args(verb, args)
        return SupportUnwatch()
    if verb == "responders":
        return _responders(args)
    if verb == "status":
        _no_args(verb, args)
        return SupportStatus()
    if verb == "stats":
        return _stats(args)
    if verb == "faq":
        return _faq(args)
    if verb == "suggest":
        return _suggest(args)
    if verb == "template":
        return _template(args)
    if verb in ("report", "slo"):
        return parse_report(verb, args)
    raise UsageError(
        f'I don\'t know "/support {tokens[0]}". Try /support watch, unwatch, responders, status, '
        "stats, report, slo, faq, suggest, template or help."
    )


def parse_report(verb: str, args: list[str]) -> ReportCommand:
    """`report [this|last|2026-W48]`, `slo`, `slo set 95% 28d` (validated when run)."""
    if verb == "report":
        if len(args) > 1:
            raise UsageError(
                f'/support report takes one week at most (got "{" ".join(args)}"). '
                "Write /support report, /support report last or /support report 2026-W48."
            )
        if args and args[0].lower() not in ("this", "last"):
            IsoWeek.parse(args[0])
        return ReportCommand("report", week=args[0] if args else None)
    if not args:
        return ReportCommand("slo")
    if args[0].lower() == "set":
        parse_objective(args[1:])
        return ReportCommand("slo_set", args=tuple(args[1:]))
    raise UsageError(
        f'I don\'t understand "/support slo {" ".join(args)}". Write /support slo to see the '
        "objective, or /support slo set 95% 28d to change it."
    )


FAQ_FORM = (
    '/support faq add "question" "answer" · /support faq list · /support faq remove 3 · '
    "/support faq on [threshold=85] · /support faq off"
)


def _faq(args: list[str]) -> OpsCommand:
    if not args:
        raise UsageError(f"Say what to do with the common requests: {FAQ_FORM}")
    action, rest = args[0].lower(), args[1:]
    if action == "add":
        if len(rest) != 2 or not rest[0].strip() or not rest[1].strip():
            raise UsageError(
                "Give the question and the answer, each in quotes: "
                '/support faq add "How do I reset a password?" "Settings → Users → Reset."'
            )
        return FaqAdd(question=rest[0], answer=rest[1])
    if action == "list":
        _no_args("faq list", rest)
        return FaqList()
    if action == "remove":
        if len(rest) != 1 or not rest[0].lstrip("#").isdigit():
            raise UsageError("Give the number from /support faq list: /support faq remove 3")
        return FaqRemove(number=int(rest[0].lstrip("#")))
    if action in ("on", "off"):
        form = "/support faq on [threshold=85] (a similarity from 50 to 100)"
        threshold = _threshold(rest, form=form, lowest=50, example=85, what="a number")
        return FaqSwitch(
            enabled=action == "on", threshold=None if threshold is None else int(threshold)
        )
    raise UsageError(f'"{args[0]}" is not a faq action. Use: {FAQ_FORM}')


SUGGEST_FORM = (
    "/support suggest on [threshold=35] · /support suggest off · "
    "/support suggest forget <link of the request>"
)


def _suggest(args: list[str]) -> OpsCommand:
    if not args:
        raise UsageError(f"Say what to do with answers from history: {SUGGEST_FORM}")
    action, rest = args[0].lower(), args[1:]
    if action == "forget":
        if len(rest) != 1:
            raise UsageError(
                "Give the link of one request (message menu → Copy link): "
                "/support suggest forget https://yourteam.slack.com/archives/C0123/p1700000000000100"
            )
        return SuggestForget(link=rest[0])
    if action in ("on", "off"):
        form = "/support suggest on [threshold=35] (a score from 1 to 100)"
        threshold = _threshold(rest, form=form, lowest=1, example=35, what="a score")
        return SuggestSwitch(enabled=action == "on", threshold=threshold)
    raise UsageError(f'"{args[0]}" is not a suggest action. Use: {SUGGEST_FORM}')


def _threshold(rest: list[str], *, form: str, lowest: int, example: int, what: str) -> float | None:
    """The optional threshold=… of `faq on` and `suggest on`: a whole number up to 100."""
    options = parse_options(rest, allowed=("threshold",), form=form)
    if "threshold" not in options:
        return None
    value = options["threshold"].rstrip("%")
    if not value.isdigit() or not lowest <= int(value) <= 100:
        raise UsageError(
            f'threshold: "{options["threshold"]}" is not {what} from {lowest} to 100. '
            f"Write e.g. threshold={example} (higher means fewer, closer matches)."
        )
    return float(value)


def _template(args: list[str]) -> OpsCommand:
    if not args:
        return TemplateList()
    form = (
        '/support template documented "It is in the docs: https://…" '
        "(or off to post nothing, default to restore the default)"
    )
    # A category may be two words when not quoted: "quick question".
    for split in (2, 1):
        if len(args) >= split:
            try:
                category = parse_category(" ".join(args[:split]))
            except UsageError:
                continue
            rest = args[split:]
            break
    else:
        parse_category(args[0])  # raises, naming the categories
        raise AssertionError
    if not rest:
        raise UsageError(f"Give the reply for {category}: {form}")
    if len(rest) == 1 and rest[0].lower() in ("off", "none"):
        return TemplateSet(category=category, text="")
    if len(rest) == 1 and rest[0].lower() in ("default", "reset"):
        return TemplateSet(category=category, text=None)
    return TemplateSet(category=category, text=" ".join(rest))


def parse_options(args: list[str], *, allowed: tuple[str, ...], form: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for token in args:
        key, sep, value = token.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise UsageError(f'I don\'t understand "{token}". Options look like key=value: {form}')
        if key not in allowed:
            raise UsageError(
                f'"{key}" is not an option. Options: {", ".join(allowed)}. Usage: {form}'
            )
        if key in options:
            raise UsageError(f'"{key}" is given twice. Give each option once: {form}')
        options[key] = value.strip()
    return options


def _watch(args: list[str]) -> SupportWatch:
    if not args or "=" in args[0]:
        raise UsageError(f"Say what to watch: {WATCH_FORM}")
    kind = args[0].lower()
    if kind not in ("requests", "alerts"):
        raise UsageError(f'"{args[0]}" is not something I watch. Usage: {WATCH_FORM}')
    options = parse_options(args[1:], allowed=(*WATCH_OPTIONS, "faq"), form=WATCH_FORM)
    if "faq" in options:
        options["faq"] = options["faq"].lower()
        if options["faq"] not in ("on", "off"):
            raise UsageError(
                f'faq: "{options["faq"]}" is not on or off. Write faq=on to suggest answers from '
                "the channel's common requests (admins), or faq=off."
            )
    return SupportWatch(kind=kind, options=options)


def _responders(args: list[str]) -> SupportResponders:
    users = []
    for token in args:
        for part in token.split(","):
            if not part.strip():
                continue
            user = parse_user(part)
            if user is None:
                raise UsageError(
                    f'"{part}" is not a person. Mention people: /support responders @anna @ben '
                    "(or no names to see the current responders)."
                )
            users.append(user)
    return SupportResponders(users=tuple(users))


def _stats(args: list[str]) -> SupportStats:
    if not args:
        return SupportStats(days=7)
    if len(args) == 1:
        match = _WINDOW.match(args[0].lower())
        if match and int(match.group(1)) > 0:
            return SupportStats(days=int(match.group(1)))
    if len(args) in (2, 4) and args[0].lower() == "since":
        since = _date(args[1])
        until = None
        if len(args) == 4:
            if args[2].lower() != "until":
                raise UsageError(
                    f'"{args[2]}": write /support stats since 2026-11-01 until 2026-11-15.'
                )
            until = _date(args[3])
        return SupportStats(days=None, since=since, until=until)
    raise UsageError(
        f'I can\'t read "{" ".join(args)}" as a period. Write /support stats 7d, '
        "/support stats 30d or /support stats since 2026-11-01."
    )


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f'"{text}" is not a date. Write it as 2026-11-01.') from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _no_args(verb: str, args: list[str]) -> None:
    if args:
        raise UsageError(f'/support {verb} takes no arguments (got "{" ".join(args)}").')


# A Slack message link (Copy link), bare or as Slack escapes it: …/archives/C123/p1700000000123456
_MESSAGE_LINK = re.compile(r"^<?https?://[^/\s]+/archives/([A-Z0-9]+)/p(\d{7,})(?:[?|][^>]*)?>?$")


def parse_incident(
    text: str, *, roles: Mapping[str, Sequence[str]] = DEFAULT_ROLES
) -> IncidentCommand:
    """`/incident …`: the same tokenizer as /support, so quoting works the same."""
    tokens = tokenize(text)
    if not tokens:
        return inc.IncidentHelp()
    verb, args = tokens[0].lower(), tokens[1:]
    if verb in ("help", "-h", "--help", "?"):
        return inc.IncidentHelp()
    if verb == "declare":
        severity = "sev3"
        words = []
        source = None
        for token in args:
            link = _MESSAGE_LINK.match(token)
            if token.lower() in inc.SEVERITIES:
                severity = token.lower()
            elif link:
                seconds = link.group(2)
                source = (link.group(1), f"{seconds[:-6]}.{seconds[-6:]}")
            else:
                words.append(token)
        if not words:
            raise UsageError("Give the incident a title: /incident declare Checkout fails sev2")
        return inc.Declare(title=" ".join(words)[:200], severity=severity, source=source)
    if verb == "set":
        if len(args) < 2 or args[0].lower() not in inc.SECTIONS:
            raise UsageError(
                "Say which part of the ticket and what it says: /incident set "
                f"{'|'.join(inc.SECTIONS)} <text>, e.g. /incident set scope All EU merchants"
            )
        return inc.SetSection(section=args[0].lower(), text=" ".join(args[1:]))
    if verb == "action":
        return _incident_action(args)
    if verb == "why":
        if not args:
            raise UsageError('Write the why: /incident why "the cache was never invalidated"')
        return inc.AddWhy(text=" ".join(args))
    if verb == "severity":
        if len(args) != 1 or args[0].lower() not in inc.SEVERITIES:
            raise UsageError(
                f"Severity is one of {', '.join(inc.SEVERITIES)}: /incident severity sev1"
            )
        return inc.SetSeverity(severity=args[0].lower())
    if verb in ("role", "handoff"):
        if len(args) < 2:
            raise UsageError(f"Name the role and the person: /incident {verb} commander @beth")
        # A role may be several words ("incident commander"): everything before the person.
        at = next((i for i, token in enumerate(args) if parse_user(token)), None)
        if not at:
            raise UsageError(
                f'"{args[-1] if at is None else args[0]}" needs a role and a person: '
                f"/incident {verb} commander @beth"
            )
        role = incident_role(" ".join(args[:at]), roles)
        user = parse_user(args[at])
        assert user is not None
        if verb == "role":
            if len(args) > at + 1:
                raise UsageError(
                    "/incident role takes a role and one person, e.g. /incident role ops @ben"
                )
            return inc.AssignRole(role=role, user=user)
        return inc.RequestHandoff(role=role, user=user, note=" ".join(args[at + 1 :]))
    if verb in ("note", "update"):
        if not args:
            raise UsageError(f"Write the {verb}: /incident {verb} Rolled back to 4.2.1")
        text_ = " ".join(args)
        return inc.Note(text=text_) if verb == "note" else inc.Update(text=text_)
    if verb == "resolve":
        return inc.Resolve(summary=" ".join(args))
    if verb == "list":
        return inc.ListIncidents()
    raise UsageError(
        f'I don\'t know "/incident {tokens[0]}". Try declare, set, action, why, severity, role, '
        "handoff, note, update, resolve, list or help."
    )


def incident_role(word: str, roles: Mapping[str, Sequence[str]] = DEFAULT_ROLES) -> str:
    role = canonical_role(word, roles)
    if role is None:
        known = ", ".join(
            f"{name} ({', '.join(aliases[:2])})" if aliases else name
            for name, aliases in roles.items()
        )
        raise UsageError(f'"{word}" is not an incident role. Roles: {known}.')
    return role


def _incident_action(args: list[str]) -> IncidentCommand:
    if args and args[0].lower() == "add" and len(args) >= 2:
        owner = parse_user(args[-1]) if len(args) >= 3 else None
        words = args[1:-1] if owner else args[1:]
        return inc.AddAction(text=" ".join(words), owner=owner)
    if args and args[0].lower() == "done" and len(args) == 2 and _NUMBER.fullmatch(args[1]):
        return inc.ActionDone(number=int(args[1]))
    raise UsageError(
        'Write /incident action add "Restart the importer" @ben, or /incident action done 2'
    )


ROTA_CONFIG = ("name", "start", "pick", "tz", "holidays", "lead", "group", "toil")
ROTA_SET = ("prod", "days", "new", "tz")


def parse_rota(text: str) -> RotaCommand:
    tokens = tokenize(text)
    if not tokens or tokens[0].lower() in ("help", "-h", "--help", "?"):
        return RotaCommand("help")
    verb, args = tokens[0].lower(), tokens[1:]
    if verb in ("who", "show", "history", "calendar"):
        _no_args(verb, args)
        return RotaCommand(verb)
    if verb == "toil":
        if len(args) > 1:
            raise UsageError("Write /rota toil (this month) or /rota toil 2026-11.")
        if args:
            parse_month(args[0])
        return RotaCommand("toil", options={"month": args[0]} if args else {})
    if verb == "plan":
        if len(args) > 1 or (args and not (_NUMBER.fullmatch(args[0]) and 1 <= int(args[0]) <= 26)):
            raise UsageError("Write /rota plan 12 (between 1 and 26 weeks).")
        return RotaCommand("plan", options={"weeks": args[0] if args else "12"})
    if verb == "choose":
        users = [parse_user(t) for t in args if not t.lower().startswith("fallback=")]
        fallback = [
            parse_user(t.split("=", 1)[1]) for t in args if t.lower().startswith("fallback=")
        ]
        if len(users) != 2 or None in users or None in fallback:
            raise UsageError(
                "Name two people, and optionally a fallback: /rota choose @a @b fallback=@c"
            )
        options = {"pair": ",".join(u for u in users if u)}
        if fallback and fallback[0]:
            options["fallback"] = fallback[0]
        return RotaCommand("choose", options=options)
    if verb == "config":
        merged: list[str] = []
        for token in args:  # start=Wed 09:00 arrives as two tokens when not quoted
            if "=" not in token and merged and merged[-1].split("=")[0] in ("start", "pick"):
                merged[-1] += f" {token}"
            else:
                merged.append(token)
        form = '/rota config start="Wed 09:00" pick="Mon 17:00" tz=Europe/Berlin lead=@x'
        return RotaCommand("config", options=parse_options(merged, allowed=ROTA_CONFIG, form=form))
    if verb == "swap":
        users = [parse_user(t) for t in args[:2]]
        if len(args) not in (2, 3) or None in users:
            raise UsageError("Write /rota swap @out @in [2026-12-02] (the week's start date).")
        options = {"out": users[0] or "", "in": users[1] or ""}
        if len(args) == 3:
            try:
                date.fromisoformat(args[2])
            except ValueError:
                raise UsageError(f'"{args[2]}" is not a date. Write it as 2026-12-02.') from None
            options["week"] = args[2]
        return RotaCommand("swap", options=options)
    if verb not in ("add", "remove", "set", "away"):
        raise UsageError(
            f'I don\'t know "/rota {tokens[0]}". Try config, add, remove, set, away, who, show '
            "or help."
        )
    if not args or parse_user(args[0]) is None:
        raise UsageError(f"Mention the person: /rota {verb} @name …")
    user = parse_user(args[0])
    rest = args[1:]
    if verb == "add":
        unknown = [t for t in rest if t.lower() not in ("prod", "new")]
        if unknown:
            raise UsageError(f'"{unknown[0]}" is not a flag. Write /rota add @name [prod] [new].')
        return RotaCommand("add", user=user, flags=frozenset(t.lower() for t in rest))
    if verb == "remove":
        _no_args("remove @name", rest)
        return RotaCommand("remove", user=user)
    if verb == "set":
        form = "/rota set @name prod=yes|no days=Mon-Fri new=no tz=Europe/Lisbon"
        if not rest:
            raise UsageError(f"Say what to change: {form}")
        return RotaCommand(
            "set", user=user, options=parse_options(rest, allowed=ROTA_SET, form=form)
        )
    if not rest:
        raise UsageError("Give the dates: /rota away @name 2026-12-01..2026-12-05 [reason]")
    first_text, sep, last_text = rest[0].partition("..")
    try:
        first = date.fromisoformat(first_text)
        last = date.fromisoformat(last_text) if sep else first
    except ValueError:
        raise UsageError(
            f'"{rest[0]}" is not a date range. Write 2026-12-01..2026-12-05 (or one date).'
        ) from None
    if last < first:
        raise UsageError(f"The range ends before it starts. Write {last}..{first}.")
    return RotaCommand("away", user=user, first=first, last=last, reason=" ".join(rest[1:]))
