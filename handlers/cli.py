"""The `firstline` command: serve, demo, migrate, and the desk's stable shell interface.

    firstline serve
    firstline watch C0123ABCD --kind requests --target 5m --hours "Mon-Fri 10:00-18:00"
    firstline stats --channel C0123ABCD --since 2026-11-01 --format json

This module is the composition root: it imports the platform handlers lazily, so
`firstline stats` never loads Slack or Teams code.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

from bot.channel_settings import WATCH_OPTIONS
from bot.clock import SystemClock
from bot.commands import describe
from bot.config import Settings
from bot.core import Core
from bot.errors import UsageError
from bot.quality.figures import quality_figures, quality_lines
from bot.stats import compute_stats
from bot.tables import format_by_category, format_stats
from storage.engine import Database

log = logging.getLogger("firstline")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    database_url = ""
    try:
        settings = Settings.from_env()
        database_url = settings.database_url
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        result: int = args.func(args, settings)
        return result
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # Operator mistakes get one line; anything else is a bug and keeps its traceback.
        from handlers.operator_errors import cli_wording, explain

        line = explain(error, database_url=database_url)
        if line is None:
            ref = uuid.uuid4().hex[:8]
            log.exception("unexpected error (ref %s): please report it with this traceback", ref)
            print(
                f"firstline: unexpected error (ref {ref}): {type(error).__name__}", file=sys.stderr
            )
            return 1
        print(f"firstline: {cli_wording(line)}", file=sys.stderr)
        return 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line naming it, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


_DATABASE_ENV = "reads DATABASE_URL (default sqlite+aiosqlite:///firstline.db) and LOG_LEVEL"
_SERVER_ENV = (
    "reads SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode), "
    "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (many workspaces), SLACK_API_URL, SLACK_SCOPES, "
    "MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TYPE, MICROSOFT_APP_TENANT_ID, "
    "DATABASE_URL, PORT, HOST, LOG_LEVEL, FIRSTLINE_ADMINS, FIRSTLINE_PUBLIC_URL, "
    "FIRSTLINE_SUPPORT_COMMAND, FIRSTLINE_INCIDENT_COMMAND, FIRSTLINE_ROTA_COMMAND, "
    "FIRSTLINE_INCIDENT_ROLES, FIRSTLINE_API_TOKEN, FIRSTLINE_DRAIN_SECONDS, "
    "FIRSTLINE_OUTBOX_LEASE, JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN, JIRA_PROJECT, "
    "FIRSTLINE_TICKET_WEBHOOK (docs/deploying.md, Configuration)"
)


def _parser() -> argparse.ArgumentParser:
    from handlers.operator_errors import channel_id, escalation_id, user_id, workspace_id

    parser = _Parser(
        prog="firstline",
        description="First-line support desk for Slack and Microsoft Teams: first-response "
        "measurement, escalation, rota, incidents and reports.",
        epilog="Start with `firstline demo`; before going live, `firstline doctor`. "
        "`firstline COMMAND --help` names the environment variables each command reads.",
    )
    parser.add_argument("--version", action="version", version=f"firstline {_version()}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help=(
            "run the server: Slack (HTTP, or Socket Mode with SLACK_APP_TOKEN) and, with "
            "MICROSOFT_APP_ID, Microsoft Teams on /api/messages"
        ),
        description=(
            "Serve Slack's endpoint (/slack/events, or Socket Mode with SLACK_APP_TOKEN) when "
            "SLACK_BOT_TOKEN is set, and Microsoft Teams' endpoint (/api/messages) when "
            "MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD are set; see docs/teams.md."
        ),
        epilog=_SERVER_ENV,
    )
    serve.set_defaults(func=_serve)

    demo = sub.add_parser(
        "demo",
        help="a support fortnight on an emulated Slack (or Teams), offline, no credentials",
        epilog="reads no environment variable: the demo uses its own throwaway database",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the resulting figures")
    demo.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the transcript, charts and postmortem (default: a new temporary one)",
    )
    demo.add_argument(
        "--teams",
        action="store_true",
        help="the desk afternoon in Microsoft Teams (needs the teams extra)",
    )
    demo.set_defaults(func=_demo)

    migrate = sub.add_parser(
        "migrate", help="apply database migrations (serve does this too)", epilog=_DATABASE_ENV
    )
    migrate.set_defaults(func=_migrate)

    doctor = sub.add_parser(
        "doctor",
        help="check the setup: token, scopes, channels, database, clock (exit 1 if anything fails)",
        epilog=_SERVER_ENV,
    )
    doctor.set_defaults(func=_doctor)

    watch = sub.add_parser(
        "watch", help="watch a channel as a requests or alerts channel", epilog=_DATABASE_ENV
    )
    watch.add_argument("channel", metavar="CHANNEL_ID", type=channel_id)
    watch.add_argument("--kind", required=True, choices=["requests", "alerts"])
    watch.add_argument("--target", help="first-response target, e.g. 5m (default 5m)")
    watch.add_argument("--responders", help="anyone (default) or team")
    watch.add_argument("--hours", help='always (default) or e.g. "Mon-Fri 10:00-18:00"')
    watch.add_argument("--tz", help="IANA time zone for hours, e.g. Europe/Berlin")
    watch.add_argument("--holidays", help="public holidays by country code, e.g. DE or DE-BE")
    watch.add_argument(
        "--escalate",
        type=escalation_id,
        help="second line: a user id (U…), a user group id (S…), or a paging target "
        "(pagerduty:<name>, webhook:<name>), e.g. --escalate S0123ABCD",
    )
    watch.add_argument(
        "--offhours", choices=("wait", "page"), help="out of business hours: wait, or page"
    )
    watch.add_argument("--ack", help="acknowledgement emoji names, comma-separated (default eyes)")
    watch.add_argument(
        "--done", help="done emoji names (default white_check_mark,heavy_check_mark)"
    )
    watch.add_argument("--noise", help="on (default) or off: thanks, greetings, emoji, bursts")
    watch.add_argument("--noise-words", help='edit the noise list, e.g. "+passt schon,-ok"')
    watch.add_argument("--burst", help="a requester's burst window (default 3m), or off")
    watch.add_argument("--next", help="next-response target, e.g. 30m, or off (default)")
    watch.add_argument("--resolve", help="resolution target, e.g. 1d, or off (default)")
    watch.add_argument("--waiting", help='waiting on requester after: "?,hourglass" or off')
    watch.add_argument(
        "--workspace", type=workspace_id, help="Slack team id (default: the only one known)"
    )
    watch.set_defaults(func=_watch)

    unwatch = sub.add_parser(
        "unwatch", help="stop watching a channel (figures are kept)", epilog=_DATABASE_ENV
    )
    unwatch.add_argument("channel", metavar="CHANNEL_ID", type=channel_id)
    unwatch.add_argument("--workspace", type=workspace_id)
    unwatch.set_defaults(func=_unwatch)

    responders = sub.add_parser(
        "responders", help="set a watched channel's responders", epilog=_DATABASE_ENV
    )
    responders.add_argument("channel", metavar="CHANNEL_ID", type=channel_id)
    responders.add_argument("users", nargs="*", metavar="USER_ID", type=user_id)
    responders.add_argument("--workspace", type=workspace_id)
    responders.set_defaults(func=_responders)

    stats = sub.add_parser("stats", help="first-response figures", epilog=_DATABASE_ENV)
    stats.add_argument("--channel", metavar="ID", type=channel_id)
    stats.add_argument("--workspace", type=workspace_id)
    _window_arguments(stats, since_required=False)
    stats.add_argument("--format", choices=["table", "json", "csv"], default="table")
    stats.add_argument(
        "--by", choices=["channel", "category"], default="channel", help="group rows by"
    )
    stats.set_defaults(func=_stats)

    toil = sub.add_parser(
        "toil", help="time off in lieu owed per person for a month", epilog=_DATABASE_ENV
    )
    toil.add_argument("--month", help="e.g. 2026-11 (default: this month)")
    toil.add_argument("--team", help="the rota team's name (default: every team)")
    toil.add_argument("--workspace")
    toil.add_argument("--format", choices=["table", "json", "csv"], default="table")
    toil.set_defaults(func=_toil)

    incident = sub.add_parser(
        "incident", help="incidents: export a postmortem draft", epilog=_DATABASE_ENV
    )
    incident_sub = incident.add_subparsers(title="incident commands", metavar="ACTION")
    export = incident_sub.add_parser(
        "export", help="print an incident's postmortem draft (Markdown)"
    )
    export.add_argument("incident_id", type=int, metavar="ID")
    export.add_argument(
        "--tz", default="UTC", help="time zone for the timeline, e.g. Europe/Berlin"
    )
    export.set_defaults(func=_incident_export)

    report = sub.add_parser(
        "report", help="the weekly report of watched channels", epilog=_DATABASE_ENV
    )
    report.add_argument(
        "--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W48 (default: last week)"
    )
    report.add_argument(
        "--channel", metavar="ID", type=channel_id, help="one channel (default: every watched one)"
    )
    report.add_argument("--workspace")
    report.add_argument("--format", choices=["md", "json"], default="md")
    report.set_defaults(func=_report)

    exporter = sub.add_parser(
        "export", help="export data: requests as CSV or JSON", epilog=_DATABASE_ENV
    )
    exporter.add_argument("what", choices=["requests"])
    _window_arguments(exporter, since_required=True)
    exporter.add_argument("--channel", metavar="ID", type=channel_id)
    exporter.add_argument("--workspace", type=workspace_id)
    exporter.add_argument("--format", choices=["csv", "json"], default="csv")
    exporter.set_defaults(func=_export)

    imp = sub.add_parser(
        "import",
        help="backfill from Slack events (JSON lines) or an export",
        epilog=_DATABASE_ENV + "; creates the database when missing",
    )
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--workspace", help="team id for exports that don't carry one")
    imp.add_argument(
        "--workspace-url",
        metavar="URL",
        help="the workspace's address, e.g. https://acme.slack.com/, for links to imported "
        "requests (default: asked of Slack with SLACK_BOT_TOKEN)",
    )
    imp.set_defaults(func=_import)

    pager = sub.add_parser(
        "paging",
        help="paging targets for escalate=pagerduty:<name>|webhook:<name> (set in the "
        "environment: FIRSTLINE_PAGERDUTY_<NAME>, FIRSTLINE_WEBHOOK_<NAME> and _SECRET)",
    )
    pager_sub = pager.add_subparsers(dest="paging_command", required=True)
    pager_sub.add_parser("list", help="the configured targets (no secrets shown)").set_defaults(
        func=_paging_list
    )
    paging_test = pager_sub.add_parser(
        "test", help="send a test page to a target and resolve it at once"
    )
    paging_test.add_argument("target", help="e.g. pagerduty:payments or webhook:oncall")
    paging_test.set_defaults(func=_paging_test)

    package = sub.add_parser(
        "teams-package",
        help="build the Microsoft Teams app package (zip)",
        epilog="reads MICROSOFT_APP_ID and FIRSTLINE_TEAMS_NAME",
    )
    package.add_argument("--out", default="firstline-teams.zip", metavar="PATH")
    package.add_argument("--app-id", help="the bot's Microsoft App ID (default MICROSOFT_APP_ID)")
    package.add_argument("--host", default="", help="your server's host name, e.g. bot.example.com")
    package.set_defaults(func=_teams_package)
    return parser


def _window_arguments(parser: argparse.ArgumentParser, *, since_required: bool) -> None:
    """``--since``/``--until`` as every command reading a period takes them (see `_window`)."""
    parser.add_argument(
        "--since",
        metavar="DATE",
        required=since_required,
        help="first day, e.g. 2026-11-01, from midnight in the channel's time zone (the "
        "watched channels' zone if they share one, else UTC); or a time with an offset",
    )
    parser.add_argument(
        "--until",
        metavar="DATE",
        help="last day, included: 2026-11-30 counts requests up to that day's end in the "
        "same zone; a time (e.g. 2026-11-30T12:00+01:00) is excluded",
    )


async def _window(core: Core, args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """The instants ``--since``/``--until`` mean, read as `bot.stats.window_bound` reads them,
    in the zone `bot.stats.window_zone` picks for ``--channel``/``--workspace``."""
    from bot.stats import window_bound, window_zone

    zone = await window_zone(core.db, workspace_id=args.workspace, channel_id=args.channel)
    since = window_bound(args.since, tz=zone, end=False) if args.since else None
    until = window_bound(args.until, tz=zone, end=True) if args.until else None
    if since and until and until <= since:
        raise UsageError("--until must not be before --since.")
    return since, until


def _with_core(
    settings: Settings, work: Callable[[Core], Awaitable[int]], *, create: bool = False
) -> int:
    """Run ``work`` on the database; only ``create`` commands may start a new SQLite file
    (a command run in the wrong folder must not report zeros from a fresh, empty one)."""

    async def run() -> int:
        db = Database.connect(settings.database_url, create=create)
        core = Core(db=db, clock=SystemClock())
        try:
            await core.start()
            return await work(core)
        finally:
            await core.close()

    return asyncio.run(run())


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(serve(settings))


async def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then drain: report unready and refuse new requests for
    ``drain_seconds`` (load balancers stop sending), stop listening, let requests in flight
    finish, deliver the outbox, close. Exits 0 after a clean drain."""
    import signal

    from aiohttp import web

    from handlers.server import begin_drain, build_server

    app = build_server(settings)
    runner = web.AppRunner(app, shutdown_timeout=30, handle_signals=False)
    await runner.setup()
    # What the start built lives as long as the process: keep it out of the cyclic
    # collector's full passes, which would otherwise walk all of it and stall every event
    # for tens of milliseconds (the ack latency's p99; see tests/bench/README.md).
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("listening on %s:%s", settings.host, settings.port)
        await stop.wait()
        log.info("shutting down: draining for %gs", settings.drain_seconds)
        begin_drain(app)
        await asyncio.sleep(settings.drain_seconds)
    finally:
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped cleanly")
    return 0


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.doctor import run_doctor

    return asyncio.run(run_doctor(settings))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("firstline")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if args.teams:
        try:
            from handlers.teams.demo import run_teams_demo
        except ImportError as error:
            raise UsageError(
                f"The Teams demo needs the teams extra ({error.name} is not installed): "
                "pip install 'firstline[teams]'"
            ) from error

        return asyncio.run(run_teams_demo(quiet=args.quiet))
    from pathlib import Path

    from handlers.demo import run_demo

    folder = Path(args.out) if args.out else None
    return asyncio.run(run_demo(quiet=args.quiet, folder=folder))


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> int:
        print("Database is at the latest schema.")
        return 0

    return _with_core(settings, work, create=True)


def _watch(args: argparse.Namespace, settings: Settings) -> int:
    options = {key: value for key in WATCH_OPTIONS if (value := getattr(args, key)) is not None}

    async def work(core: Core) -> int:
        workspace = await core.default_workspace(args.workspace)
        watch = await core.channels.watch(
            workspace_id=workspace,
            channel_id=args.channel,
            kind=args.kind,
            options=options,
            actor="cli",
        )
        await core.reports.ensure_schedules()  # its weekly report
        print(f"Watching {args.channel} in {workspace}: {describe(watch)}")
        return 0

    return _with_core(settings, work)


def _unwatch(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> int:
        workspace = await core.default_workspace(args.workspace)
        stopped = await core.channels.unwatch(workspace_id=workspace, channel_id=args.channel)
        print(
            f"Stopped watching {args.channel}." if stopped else f"{args.channel} was not watched."
        )
        return 0

    return _with_core(settings, work)


def _responders(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> int:
        workspace = await core.default_workspace(args.workspace)
        watch = await core.channels.set_responders(
            workspace_id=workspace, channel_id=args.channel, users=list(args.users)
        )
        print(f"Responders for {args.channel}: {' '.join(watch.responders) or 'nobody'}")
        return 0

    return _with_core(settings, work)


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    by_category = args.by == "category"

    async def work(core: Core) -> int:
        since, until = await _window(core, args)
        if by_category:
            from bot.triage.service import figures_by_category

            compute: Any = figures_by_category
        else:
            compute = compute_stats
        scope = {
            "now": core.now(),
            "workspace_id": args.workspace,
            "channel_id": args.channel,
            "since": since,
            "until": until,
        }
        figures = await compute(core.db, **scope)
        fmt = format_by_category if by_category else format_stats
        text = fmt(figures, args.format)
        if not by_category:  # posts set aside, next response and resolution
            quality = await quality_figures(core.db, **scope)
            if args.format == "json":
                text = json.dumps({**json.loads(text), "quality": quality.to_dict()}, indent=2)
                text += "\n"
            elif args.format == "table":
                text += "".join(f"{line}\n" for line in quality_lines(quality))
        print(text, end="")
        return 0

    return _with_core(settings, work)


def _toil(args: argparse.Namespace, settings: Settings) -> int:
    from bot.toil.service import format_toil, parse_month

    if args.month:
        parse_month(args.month)

    async def work(core: Core) -> int:
        workspace = await core.default_workspace(args.workspace)
        months = await core.toil.month(
            workspace_id=workspace, month=args.month, team_name=args.team
        )
        print(format_toil(months, args.format), end="")
        return 0

    return _with_core(settings, work)


def _with_names(settings: Settings, core: Core) -> None:
    """With a bot token, Markdown printed here names people and channels as Slack does."""
    if not settings.slack_bot_token:
        return
    from handlers.slack.chat import slack_directory

    directory = slack_directory(token=settings.slack_bot_token, api_url=settings.slack_api_url)
    core.reports.directory = core.incidents.directory = directory


def _incident_export(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> int:
        _with_names(settings, core)
        base = ""
        incident_ws = await core.incident_workspace(args.incident_id)
        if incident_ws:
            base = await core.workspace_url(incident_ws) or ""
        print(await core.incidents.export(args.incident_id, tz=args.tz, base_url=base), end="")
        return 0

    return _with_core(settings, work)


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reports.messages import report_markdown
    from bot.reports.weeks import IsoWeek

    async def work(core: Core) -> int:
        _with_names(settings, core)
        workspace = await core.default_workspace(args.workspace)
        week = (
            IsoWeek.parse(args.week)
            if args.week
            else IsoWeek.containing(core.now(), "UTC").previous()
        )
        reports = await core.reports.reports_for(
            workspace_id=workspace, channel_id=args.channel, week=week
        )
        if not reports:
            raise UsageError(
                f"No channel is watched in {workspace}, so there is nothing to report."
            )
        if args.format == "json":
            print(json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False))
        else:
            print(report_markdown(reports, base_url=reports[0].base_url), end="")
        return 0

    return _with_core(settings, work)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reports.export import format_rows, request_rows

    async def work(core: Core) -> int:
        since, until = await _window(core, args)
        rows = await request_rows(
            core.db,
            now=core.now(),
            since=since,
            until=until,
            workspace_id=args.workspace,
            channel_id=args.channel,
        )
        print(format_rows(rows, args.format), end="")
        return 0

    return _with_core(settings, work)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.slack.importer import check_sources, import_paths, workspace_address

    async def work(core: Core) -> int:
        address: tuple[str | None, str] | None = None
        if args.workspace_url:
            if not args.workspace_url.startswith(("https://", "http://")):
                raise UsageError(
                    f"--workspace-url {args.workspace_url!r} is not an address. Write it as "
                    "https://acme.slack.com/ (what your browser shows for the workspace)."
                )
            address = (None, args.workspace_url)
        elif settings.slack_bot_token:
            address = await workspace_address(
                token=settings.slack_bot_token, api_url=settings.slack_api_url
            )
        summary = await import_paths(
            core, args.paths, workspace_id=args.workspace, workspace_url=address
        )
        print(summary.describe())
        return 0 if not summary.errors else 1

    check_sources(args.paths)  # before a database is created for nothing
    return _with_core(settings, work, create=True)


def _paging_list(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.paging import PagingTargets

    lines = PagingTargets.from_env(dict(settings.paging_env)).describe()
    none = (
        "No paging targets. Set FIRSTLINE_PAGERDUTY_<NAME>=<routing key>, or "
        "FIRSTLINE_WEBHOOK_<NAME>=<url> with FIRSTLINE_WEBHOOK_<NAME>_SECRET."
    )
    print("\n".join(lines) if lines else none)
    return 0


def _paging_test(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.paging import send_test_page

    return asyncio.run(send_test_page(dict(settings.paging_env), target=args.target))


def _teams_package(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from handlers.teams.package import build

    out = build(
        out=Path(args.out),
        app_id=args.app_id or settings.microsoft_app_id,
        name=settings.teams_bot_name,
        host=args.host,
    )
    print(f"Wrote {out}: upload it in Teams (Apps → Manage your apps → Upload an app).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
