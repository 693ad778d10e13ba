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
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.clock import SystemClock
from bot.commands import describe
from bot.config import Settings
from bot.core import Core
from bot.errors import FirstlineError, UsageError
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
    try:
        settings = Settings.from_env()
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        result: int = args.func(args, settings)
        return result
    except FirstlineError as error:
        print(f"firstline: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="firstline",
        description="First-line support desk for Slack: first-response measurement and escalation.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser(
        "serve", help="run the Slack app (HTTP, or Socket Mode with SLACK_APP_TOKEN)"
    )
    serve.set_defaults(func=_serve)

    demo = sub.add_parser(
        "demo", help="an offline walkthrough with an emulated Slack, no credentials"
    )
    demo.add_argument("--quiet", action="store_true", help="print only the resulting stats")
    demo.set_defaults(func=_demo)

    migrate = sub.add_parser("migrate", help="apply database migrations (serve does this too)")
    migrate.set_defaults(func=_migrate)

    watch = sub.add_parser("watch", help="watch a channel as a requests or alerts channel")
    watch.add_argument("channel", metavar="CHANNEL_ID")
    watch.add_argument("--kind", required=True, choices=["requests", "alerts"])
    watch.add_argument("--target", help="first-response target, e.g. 5m (default 5m)")
    watch.add_argument("--responders", help="anyone (default) or team")
    watch.add_argument("--hours", help='always (default) or e.g. "Mon-Fri 10:00-18:00"')
    watch.add_argument("--tz", help="IANA time zone for hours, e.g. Europe/Berlin")
    watch.add_argument("--holidays", help="public holidays by country code, e.g. DE or DE-BE")
    watch.add_argument("--escalate", help="second line: a user id (U…) or user group id (S…)")
    watch.add_argument("--ack", help="acknowledgement emoji names, comma-separated (default eyes)")
    watch.add_argument(
        "--done", help="done emoji names (default white_check_mark,heavy_check_mark)"
    )
    watch.add_argument("--workspace", help="Slack team id (default: the only one known)")
    watch.set_defaults(func=_watch)

    unwatch = sub.add_parser("unwatch", help="stop watching a channel (figures are kept)")
    unwatch.add_argument("channel", metavar="CHANNEL_ID")
    unwatch.add_argument("--workspace")
    unwatch.set_defaults(func=_unwatch)

    responders = sub.add_parser("responders", help="set a watched channel's responders")
    responders.add_argument("channel", metavar="CHANNEL_ID")
    responders.add_argument("users", nargs="*", metavar="USER_ID")
    responders.add_argument("--workspace")
    responders.set_defaults(func=_responders)

    stats = sub.add_parser("stats", help="first-response figures")
    stats.add_argument("--channel", metavar="ID")
    stats.add_argument("--workspace")
    stats.add_argument("--since", type=_iso, metavar="ISO", help="e.g. 2026-11-01")
    stats.add_argument("--until", type=_iso, metavar="ISO")
    stats.add_argument("--format", choices=["table", "json", "csv"], default="table")
    stats.add_argument(
        "--by", choices=["channel", "category"], default="channel", help="group rows by"
    )
    stats.set_defaults(func=_stats)

    toil = sub.add_parser("toil", help="time off in lieu owed per person for a month")
    toil.add_argument("--month", help="e.g. 2026-11 (default: this month)")
    toil.add_argument("--team", help="the rota team's name (default: every team)")
    toil.add_argument("--workspace")
    toil.add_argument("--format", choices=["table", "json", "csv"], default="table")
    toil.set_defaults(func=_toil)

    incident = sub.add_parser("incident", help="incidents: export a postmortem draft")
    incident_sub = incident.add_subparsers(title="incident commands", metavar="ACTION")
    export = incident_sub.add_parser(
        "export", help="print an incident's postmortem draft (Markdown)"
    )
    export.add_argument("incident_id", type=int, metavar="ID")
    export.add_argument(
        "--tz", default="UTC", help="time zone for the timeline, e.g. Europe/Berlin"
    )
    export.set_defaults(func=_incident_export)

    report = sub.add_parser("report", help="the weekly report of watched channels")
    report.add_argument(
        "--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W48 (default: last week)"
    )
    report.add_argument("--channel", metavar="ID", help="one channel (default: every watched one)")
    report.add_argument("--workspace")
    report.add_argument("--format", choices=["md", "json"], default="md")
    report.set_defaults(func=_report)

    exporter = sub.add_parser("export", help="export data: requests as CSV or JSON")
    exporter.add_argument("what", choices=["requests"])
    exporter.add_argument("--since", type=_iso, metavar="ISO", required=True)
    exporter.add_argument("--until", type=_iso, metavar="ISO")
    exporter.add_argument("--channel", metavar="ID")
    exporter.add_argument("--workspace")
    exporter.add_argument("--format", choices=["csv", "json"], default="csv")
    exporter.set_defaults(func=_export)

    imp = sub.add_parser("import", help="backfill from Slack events (JSON lines) or an export")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--workspace", help="team id for exports that don't carry one")
    imp.set_defaults(func=_import)

    package = sub.add_parser("teams-package", help="build the Microsoft Teams app package (zip)")
    package.add_argument("--out", default="firstline-teams.zip", metavar="PATH")
    package.add_argument("--app-id", help="the bot's Microsoft App ID (default MICROSOFT_APP_ID)")
    package.add_argument("--host", default="", help="your server's host name, e.g. bot.example.com")
    package.set_defaults(func=_teams_package)
    return parser


def _iso(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date, e.g. 2026-11-01") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _with_core(settings: Settings, work: Callable[[Core], Awaitable[int]]) -> int:
    async def run() -> int:
        core = Core(db=Database.connect(settings.database_url), clock=SystemClock())
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


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.demo import run_demo

    return asyncio.run(run_demo(quiet=args.quiet))


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> int:
        print("Database is at the latest schema.")
        return 0

    return _with_core(settings, work)


def _watch(args: argparse.Namespace, settings: Settings) -> int:
    options = {
        key: value
        for key in ("target", "responders", "hours", "tz", "holidays", "escalate", "ack", "done")
        if (value := getattr(args, key)) is not None
    }

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
    if args.since and args.until and args.until <= args.since:
        raise UsageError("--until must be after --since.")

    by_category = args.by == "category"

    async def work(core: Core) -> int:
        if by_category:
            from bot.triage.service import figures_by_category

            compute: Any = figures_by_category
        else:
            compute = compute_stats
        figures = await compute(
            core.db,
            now=core.now(),
            workspace_id=args.workspace,
            channel_id=args.channel,
            since=args.since,
            until=args.until,
        )
        fmt = format_by_category if by_category else format_stats
        print(fmt(figures, args.format), end="")
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


def _incident_export(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> int:
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

    if args.until and args.until <= args.since:
        raise UsageError("--until must be after --since.")

    async def work(core: Core) -> int:
        rows = await request_rows(
            core.db,
            now=core.now(),
            since=args.since,
            until=args.until,
            workspace_id=args.workspace,
            channel_id=args.channel,
        )
        print(format_rows(rows, args.format), end="")
        return 0

    return _with_core(settings, work)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.slack.importer import import_paths

    async def work(core: Core) -> int:
        summary = await import_paths(core, args.paths, workspace_id=args.workspace)
        print(summary.describe())
        return 0 if not summary.errors else 1

    return _with_core(settings, work)


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
