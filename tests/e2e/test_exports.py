"""Exports: `firstline export requests`, `firstline report`, and GET /api/stats."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.clock import FakeClock
from handlers.cli import main
from tests.harness import ALERTS, ANNA, BEN, SUPPORT, SlackWorld

TOKEN = "s3cret-stats-token"


@pytest.fixture
async def api_world(database_url: str, clock: FakeClock) -> AsyncIterator[SlackWorld]:
    env = {"FIRSTLINE_API_TOKEN": TOKEN}
    async with SlackWorld(database_url=database_url, clock=clock, env=env) as world:
        assert "Watching" in await world.command("watch requests target=5m")
        quick = await world.post("UASK1", "Where is the refund button?")  # 14:00:00
        await world.advance(seconds=10)
        slow = await world.post("UASK2", "Export to CSV fails with a 500")  # 14:00:10
        await world.advance(seconds=10)
        await world.post("UASK3", "Can I get access to the admin panel?")  # 14:00:20
        await world.advance(seconds=100)
        await world.post(ANNA, "Settings → Payments", thread_ts=quick)  # after 2 min
        await world.react(ANNA, "white_check_mark", quick)
        await world.advance(seconds=310)
        await world.post(BEN, "Looking", thread_ts=slow)  # after 7 min
        await world.advance(minutes=10)
        yield world


async def get(world: SlackWorld, query: str, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{world.base_url}/api/stats{query}", headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_stats_api_needs_the_bearer_token(api_world: SlackWorld) -> None:
    world = api_world
    query = f"?channel={SUPPORT}&since=2026-11-23"
    status, body = await get(world, query, None)
    assert status == 401 and "Bearer" in body["error"]
    status, _ = await get(world, query, "wrong")
    assert status == 401
    status, _ = await get(world, query, TOKEN[:-1])
    assert status == 401
    status, body = await get(world, query, TOKEN)
    assert status == 200
    assert body["requests"] == 3 and body["within_target"] == 1 and body["breached"] == 2
    assert body["first_response_seconds"]["p50"] == pytest.approx(270.0)  # 120 s and 420 s
    assert body["slo"]["decided"] == 3 and body["slo"]["missed"] == 2
    assert body["slo"]["enough_requests"] is False  # 3 of the 20 a 95% budget needs
    status, body = await get(world, "?since=2026-11-24", TOKEN)
    assert status == 200 and body["requests"] == 0
    # until's day is included: the requests of 23 November count with until=2026-11-23.
    status, body = await get(world, "?since=2026-11-23&until=2026-11-23", TOKEN)
    assert status == 200 and body["requests"] == 3
    status, body = await get(world, "?since=yesterday", TOKEN)
    assert status == 400 and "Write it as 2026-11-01" in body["error"]
    status, body = await get(world, "?channel=C0NOPE", TOKEN)
    assert status == 400 and "not a watched channel" in body["error"]


async def test_stats_api_is_off_without_a_token(world: SlackWorld) -> None:
    status, body = await get(world, "", "anything")
    assert status == 401 and "FIRSTLINE_API_TOKEN" in body["error"]


async def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_export_requests_and_report_from_the_shell(
    api_world: SlackWorld,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = await run_cli(
        monkeypatch, capsys, database_url, "export", "requests", "--since", "2026-11-23"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["text"] for r in rows] == [
        "Where is the refund button?",
        "Export to CSV fails with a 500",
        "Can I get access to the admin panel?",
    ]
    quick, slow, none = rows
    assert quick["first_responder"] == ANNA and float(
        quick["first_response_seconds"]
    ) == pytest.approx(120, abs=0.01)
    assert quick["within_target"] == "True" and quick["closed_by"] == ANNA
    assert slow["breached"] == "True" and float(slow["first_response_seconds"]) == pytest.approx(
        420, abs=0.01
    )
    assert none["first_response_at"] == "" and none["breached"] == "True"
    assert quick["permalink"].endswith(f"/archives/{SUPPORT}/p{quick['ts'].replace('.', '')}")

    code, out, _ = await run_cli(
        monkeypatch,
        capsys,
        database_url,
        "export",
        "requests",
        "--since",
        "2026-11-23T14:00:15",
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert [r["requester"] for r in data] == ["UASK3"]

    code, _, err = await run_cli(
        monkeypatch,
        capsys,
        database_url,
        "export",
        "requests",
        "--since",
        "2026-11-23",
        "--until",
        "2026-11-01",
    )
    assert code == 2 and "--until must not be before --since" in err

    code, out, _ = await run_cli(
        monkeypatch, capsys, database_url, "report", "--week", "2026-W48", "--format", "json"
    )
    assert code == 0
    [report] = json.loads(out)
    assert report["week"] == "2026-W48" and report["figures"]["requests"] == 3
    assert report["figures"]["breached"] == 2 and report["breach_count"] == 2
    code, out, _ = await run_cli(monkeypatch, capsys, database_url, "report", "--week", "2026-W48")
    assert code == 0
    assert out.startswith("# Weekly report 2026-W48 (2026-11-23 to 2026-11-29, UTC)")
    assert "## Breaches (2)" in out and "(https://" in out and "/archives/C0SUPPORT/p" in out
    code, _, err = await run_cli(monkeypatch, capsys, database_url, "report", "--week", "2026-W60")
    assert code == 2 and "is not a week. Write it as 2026-W48" in err


async def test_export_reads_dates_in_the_channel_zone_as_stats_does(
    world: SlackWorld,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A Berlin channel exporting "2026-11-24" gets the requests of 24 November in Berlin
    (from 23:00 UTC the day before), and the same rows stats counts for the same bounds."""
    assert "Watching" in await world.command("watch requests target=5m tz=Europe/Berlin")
    await world.post("UASK1", "Monday afternoon question")  # 14:00 UTC, 15:00 Berlin, 23 Nov
    await world.advance(minutes=9 * 60 + 30)
    await world.post("UASK2", "Question just after midnight")  # 23:30 UTC, 00:30 Berlin, 24 Nov

    async def exported(*bounds: str) -> list[str]:
        code, out, err = await run_cli(
            monkeypatch, capsys, database_url, "export", "requests", *bounds, "--format", "json"
        )
        assert code == 0, err
        return [row["requester"] for row in json.loads(out)]

    async def counted(*bounds: str) -> int:
        code, out, err = await run_cli(
            monkeypatch, capsys, database_url, "stats", *bounds, "--format", "json"
        )
        assert code == 0, err
        return int(json.loads(out)["requests"])

    for bounds, requesters in [
        (("--since", "2026-11-24"), ["UASK2"]),
        (("--since", "2026-11-23", "--until", "2026-11-23"), ["UASK1"]),  # until's day included
        (("--since", "2026-11-23", "--until", "2026-11-24"), ["UASK1", "UASK2"]),
        (("--since", "2026-11-23T23:00"), ["UASK2"]),  # a time without offset: Berlin's 23:00
        (("--since", "2026-11-23T23:00+00:00"), ["UASK2"]),  # with an offset: as given
        (("--since", "2026-11-23T23:45+00:00"), []),
    ]:
        assert await exported(*bounds) == requesters, bounds
        assert await counted(*bounds) == len(requesters), bounds
        # One channel of several: its own zone when named.
        assert await exported(*bounds, "--channel", SUPPORT) == requesters, bounds

    code, _, err = await run_cli(
        monkeypatch, capsys, database_url, "export", "requests", "--since", "yesterday"
    )
    assert code == 2 and "--since 'yesterday' is not a date" in err
    assert "2026-11-01 (a whole day in the channel's time zone)" in err
    with pytest.raises(SystemExit) as exit_:
        await run_cli(
            monkeypatch, capsys, database_url, "export", "requests", "--until", "2026-11-24"
        )
    assert exit_.value.code == 2
    assert "the following arguments are required: --since" in capsys.readouterr().err

    # Channels in different zones without --channel: dates are UTC days, as in stats.
    assert "Watching" in await world.command("watch alerts", channel=ALERTS)
    assert await exported("--since", "2026-11-24") == []
    assert await counted("--since", "2026-11-24") == 0
    assert await exported("--since", "2026-11-24", "--channel", SUPPORT) == ["UASK2"]
