"""Nine days of real Slack traffic through the real endpoint, checked against a second,
deliberately simple reading of the rules written here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.clock import FakeClock
from bot.facts import ts_to_datetime
from tests.harness import SlackWorld

DATA = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "datasets"
    / "clojurians-2018-02"
    / "logs"
)
TEAM = "T03RZGPFR"
BEGINNERS = "C053AK3F9"
TARGET = 300.0
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason="../shared/datasets is not beside the repo"
)


def events() -> list[dict[str, Any]]:
    result = []
    for file in sorted(DATA.glob("*.txt")):
        result.extend(json.loads(line) for line in file.read_text().splitlines() if line.strip())
    return result


def expected_stats(all_events: list[dict[str, Any]]) -> dict[str, Any]:
    """The rules for requests channels, responders=anyone, hours=always, read plainly."""
    requests: dict[str, dict[str, Any]] = {}
    for e in all_events:
        if e.get("channel") != BEGINNERS:
            continue
        subtype = e.get("subtype")
        if subtype == "message_deleted":
            if e.get("deleted_ts") in requests:
                requests[e["deleted_ts"]]["deleted"] = True
            continue
        if (
            subtype not in (None, "file_share", "thread_broadcast")
            or not e.get("user")
            or e.get("bot_id")
        ):
            continue
        user, ts, thread = e["user"], e["ts"], e.get("thread_ts")
        if thread and thread != ts:
            r = requests.get(thread)
            if r and not r["deleted"] and r["answered"] is None and user != r["user"]:
                r["answered"] = ts
            continue
        waiting = [r for r in requests.values() if r["answered"] is None and not r["deleted"]]
        mentions = set(MENTION.findall(e.get("text") or ""))
        mentioned = [r for r in waiting if r["user"] in mentions and r["user"] != user]
        if mentioned:
            for r in mentioned:
                r["answered"] = ts
            continue
        if any(r["user"] == user for r in waiting):
            continue
        requests[ts] = {"user": user, "answered": None, "deleted": False}
    live = [(ts, r) for ts, r in requests.items() if not r["deleted"]]
    times = [
        (ts_to_datetime(r["answered"]) - ts_to_datetime(ts)).total_seconds()
        for ts, r in live
        if r["answered"]
    ]
    within = sum(1 for t in times if t <= TARGET)
    return {
        "requests": len(live),
        "responded": len(times),
        "within_target": within,
        "breached": len(live) - within,  # every unanswered 2018 request is long past its target
        "p50": float(np.percentile(times, 50)),
        "p90": float(np.percentile(times, 90)),
        "max": max(times),
    }


async def replay(database_url: str, all_events: list[dict[str, Any]], options: str) -> None:
    """Every event through the signed endpoint, the channel watched with ``options``."""
    # Replayed years later: every escalation step is long past, so nothing may be sent.
    clock = FakeClock(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    async with SlackWorld(database_url=database_url, clock=clock, team=TEAM) as world:
        text = await world.command(f"watch requests {options}", channel=BEGINNERS)
        assert "Watching" in text
        statuses = []
        for event in all_events:
            reply = await world.event(event)
            statuses.append(reply.status)
        assert set(statuses) == {200}
        await world.settle()
        assert world.sent("chat.postMessage") == [] and world.sent("chat.update") == []


def cli_stats(database_url: str) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "stats", "--channel", BEGINNERS, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    got: dict[str, Any] = json.loads(result.stdout)
    return got


async def test_replay_through_the_endpoint_matches_a_simple_reading(database_url: str) -> None:
    all_events = events()
    assert len(all_events) == 11281
    await replay(database_url, all_events, "target=5m responders=anyone hours=always noise=off")
    got = cli_stats(database_url)
    want = expected_stats(all_events)
    assert got["requests"] == want["requests"]
    assert got["responded"] == want["responded"]
    assert got["within_target"] == want["within_target"]
    assert got["breached"] == want["breached"]
    for key in ("p50", "p90", "max"):
        assert got["first_response_seconds"][key] == pytest.approx(want[key], abs=1e-3)
    assert got["within_target_ratio"] == round(want["within_target"] / want["requests"], 4)
    assert published()["plain"] == {
        key: got[key]
        for key in ("requests", "responded", "within_target", "breached", "within_target_ratio")
    } | {"first_response_seconds": got["first_response_seconds"]}


def published() -> dict[str, Any]:
    """The comparison docs/measurement.md publishes (scripts/compare_request_rules.py)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "measurement.md").read_text()
    match = re.search(r"<!-- published figures \(checked by [^)]*\): (\{.*\}) -->", doc)
    assert match, "docs/measurement.md lost its published comparison"
    figures: dict[str, Any] = json.loads(match.group(1))
    return figures


async def test_request_quality_on_real_data_matches_the_published_comparison(
    database_url: str,
) -> None:
    """The defaults (noise filter and bursts) through the endpoint give the figures
    docs/measurement.md publishes, which the script computed through the importer."""
    await replay(database_url, events(), "target=5m responders=anyone hours=always")
    got = cli_stats(database_url)
    want = published()
    keys = ("requests", "responded", "within_target", "breached", "within_target_ratio")
    assert {k: got[k] for k in keys} | {
        "first_response_seconds": got["first_response_seconds"]
    } == want["quality"]
    assert got["quality"]["set_aside"] == want["set_aside"]
    assert (
        want["plain"]["requests"] - sum(want["removed"].values()) + want["added"]
        == (want["quality"]["requests"])
    )
