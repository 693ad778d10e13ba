"""The Clojurians #beginners history through the plain request rules and the request-quality
rules: how many requests the noise rules removed, and real samples of each kind.

    .venv/bin/python scripts/compare_request_rules.py           # print the comparison
    .venv/bin/python scripts/compare_request_rules.py --write   # and update docs/measurement.md

Both runs use `firstline import`'s path (every event through the desk, nothing sent) into a
fresh SQLite file each, with target=5m responders=anyone hours=always; one with noise=off,
one with the defaults. "Now" is fixed, so the figures are the same on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import FakeClock  # noqa: E402 - after the path, when run as a script
from bot.core import Core  # noqa: E402
from bot.quality.figures import REASONS, quality_figures  # noqa: E402
from bot.stats import compute_stats  # noqa: E402
from handlers.slack.importer import import_paths  # noqa: E402
from storage.engine import Database  # noqa: E402
from storage.models import Request, SetAsidePost  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "clojurians-2018-02" / "logs"
DOC = ROOT / "docs" / "measurement.md"
TEAM = "T03RZGPFR"
BEGINNERS = "C053AK3F9"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
START, END = "<!-- clojurians-comparison:start -->", "<!-- clojurians-comparison:end -->"
SAMPLES = 5


@dataclass
class Run:
    figures: dict[str, Any]
    requests: dict[str, str]  # ts → text
    set_aside: dict[str, tuple[str, str]]  # ts → (reason, text)


async def run_rules(files: list[str], workdir: Path, *, noise: str) -> Run:
    db = Database.connect(f"sqlite+aiosqlite:///{workdir}/noise-{noise}.db")
    core = Core(db=db, clock=FakeClock(NOW))
    try:
        await core.start()
        await core.channels.watch(
            workspace_id=TEAM,
            channel_id=BEGINNERS,
            kind="requests",
            options={"target": "5m", "responders": "anyone", "hours": "always", "noise": noise},
            actor="compare_request_rules",
        )
        summary = await import_paths(core, files, workspace_id=TEAM)
        if summary.errors:
            raise SystemExit(summary.describe())
        report = await compute_stats(db, now=NOW, workspace_id=TEAM, channel_id=BEGINNERS)
        quality = await quality_figures(db, now=NOW, workspace_id=TEAM, channel_id=BEGINNERS)
        async with db.reading() as session:
            requests = {
                r.ts: r.text
                for r in await session.execute(
                    select(Request.ts, Request.text).where(
                        Request.channel_id == BEGINNERS, Request.deleted.is_(False)
                    )
                )
            }
            aside = {
                r.ts: (r.reason, r.text)
                for r in await session.execute(
                    select(SetAsidePost.ts, SetAsidePost.reason, SetAsidePost.text).where(
                        SetAsidePost.channel_id == BEGINNERS
                    )
                )
            }
        figures = {**report.total.to_dict(), "set_aside": dict(quality.set_aside)}
        return Run(figures=figures, requests=requests, set_aside=aside)
    finally:
        await core.close()


def comparison(plain: Run, quality: Run) -> dict[str, Any]:
    removed = sorted(set(plain.requests) - set(quality.requests))
    added = sorted(set(quality.requests) - set(plain.requests))
    by_reason: dict[str, list[str]] = {}
    for ts in removed:
        reason = quality.set_aside.get(ts, ("follow_up",))[0]
        by_reason.setdefault(reason, []).append(ts)
    keys = ("requests", "responded", "within_target", "breached", "within_target_ratio")
    return {
        "plain": {k: plain.figures[k] for k in keys}
        | {"first_response_seconds": plain.figures["first_response_seconds"]},
        "quality": {k: quality.figures[k] for k in keys}
        | {"first_response_seconds": quality.figures["first_response_seconds"]},
        "set_aside": dict(sorted(quality.figures["set_aside"].items())),
        "removed": {reason: len(ts) for reason, ts in sorted(by_reason.items())},
        "added": len(added),
        "_removed_ts": by_reason,
        "_added_ts": added,
    }


def markdown(result: dict[str, Any], plain: Run, quality: Run) -> str:
    p, q = result["plain"], result["quality"]

    def seconds(figures: dict[str, Any], key: str) -> str:
        value = figures["first_response_seconds"][key]
        return "–" if value is None else f"{value:.0f} s"

    def ratio(value: float | None) -> str:
        return "–" if value is None else f"{value:.1%}"

    removed_total = sum(result["removed"].values())
    lines = [
        START,
        "<!-- published figures (checked by tests/replay/test_clojurians.py): "
        + json.dumps({k: v for k, v in result.items() if not k.startswith("_")}, sort_keys=True)
        + " -->",
        "",
        "| #beginners, 1–9 Feb 2018, target 5 min | plain rules (`noise=off`) | "
        "request quality (defaults) |",
        "|---|---|---|",
        f"| requests | {p['requests']} | {q['requests']} |",
        f"| answered | {p['responded']} | {q['responded']} |",
        f"| within target | {p['within_target']} | {q['within_target']} |",
        f"| breached | {p['breached']} | {q['breached']} |",
        f"| within-target ratio | {ratio(p['within_target_ratio'])} | "
        f"{ratio(q['within_target_ratio'])} |",
        f"| first response p50 / p90 | {seconds(p, 'p50')} / {seconds(p, 'p90')} | "
        f"{seconds(q, 'p50')} / {seconds(q, 'p90')} |",
        "",
        f"The request-quality rules set aside {sum(result['set_aside'].values())} top-level "
        "posts ("
        + ", ".join(f"{REASONS.get(r, r)} {n}" for r, n in result["set_aside"].items())
        + f"). Of the plain rules' {p['requests']} requests, {removed_total} are not requests "
        "under the new rules ("
        + ", ".join(f"{REASONS.get(r, r)} {n}" for r, n in result["removed"].items())
        + f"), and {result['added']} post(s) open a request under the new rules that did not "
        "under the plain ones (see below). A set-aside post that was a follow-up under the "
        "plain rules (its author already had an unanswered request) removed nothing, which "
        "is why the two totals differ.",
        "",
    ]
    for reason, stamps in result["_removed_ts"].items():
        lines.append(
            f"**{REASONS.get(reason, reason).capitalize()}**: {len(stamps)} requests removed, "
            f"e.g. (first {min(SAMPLES, len(stamps))}, as posted):"
        )
        lines.append("")
        for ts in stamps[:SAMPLES]:
            lines.append(f"- `{ts}` {_quote(plain.requests[ts])}")
        lines.append("")
    # One run's follow-up is the other's request when an earlier post moved between them.
    if result["_added_ts"]:
        lines.append(
            "**Opened only under the new rules** (the author's earlier post was set aside, so "
            "this one is no longer a follow-up of it):"
        )
        lines.append("")
        for ts in result["_added_ts"][:SAMPLES]:
            lines.append(f"- `{ts}` {_quote(quality.requests[ts])}")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def _quote(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return f"“{flat}”" if flat else "(no text: a file)"


def publish(section: str, doc: Path = DOC) -> None:
    text = doc.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{doc} has no {START} … {END} section to replace")
    doc.write_text(pattern.sub(lambda _: section, text))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=Path, default=DATA, help="folder of daily .txt event logs")
    parser.add_argument("--write", action="store_true", help=f"replace the section in {DOC}")
    args = parser.parse_args(argv)
    if not args.logs.is_dir():
        print(f"{args.logs} is not a folder of Slack event logs", file=sys.stderr)
        return 2
    files = [str(f) for f in sorted(args.logs.glob("*.txt"))]
    with tempfile.TemporaryDirectory() as workdir:
        plain = await run_rules(files, Path(workdir), noise="off")
        quality = await run_rules(files, Path(workdir), noise="on")
    result = comparison(plain, quality)
    section = markdown(result, plain, quality)
    print(section)
    if args.write:
        publish(section)
        print(f"\nWrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
