"""`firstline doctor` against the Slack emulator: each setup mistake is reported, with the
fix, and the exit status says whether anything failed."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from handlers.doctor import Doctor, run_doctor
from storage.engine import Database
from storage.migrate import upgrade
from tests.harness import SUPPORT, SlackWorld


async def doctor(world: SlackWorld, settings: Settings | None = None) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = await run_doctor(settings or world.settings(), out=out)
    return status, out.getvalue().splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("✗")]


async def test_a_correct_setup_passes_every_check(world: SlackWorld) -> None:
    assert "Watching" in await world.command("watch requests target=5m")
    status, lines = await doctor(world)
    assert status == 0, lines
    assert failures(lines) == []
    assert any("latest migration" in line for line in lines)
    assert any(f"Member of watched channel {SUPPORT}" in line for line in lines)
    assert any("scopes Firstline uses" in line for line in lines)
    assert any("clock agrees" in line for line in lines)
    assert any("signing secret set" in line for line in lines)


async def test_a_missing_scope_is_named_with_what_needs_it(world: SlackWorld) -> None:
    world.slack.scopes.remove("im:history")
    status, lines = await doctor(world)
    assert status == 1
    [problem] = failures(lines)
    assert "im:history" in problem and "reinstall" in problem
    assert "crash recovery" in problem


async def test_a_watched_channel_the_bot_is_not_in(world: SlackWorld) -> None:
    assert "Watching" in await world.command("watch requests target=5m")
    world.slack.remove_bot(SUPPORT)
    status, lines = await doctor(world)
    assert status == 1
    [problem] = failures(lines)
    assert SUPPORT in problem and "/invite @Firstline" in problem


async def test_a_skewed_clock(world: SlackWorld) -> None:
    world.slack.clock_skew_seconds = -600.0  # Slack says it is ten minutes earlier
    status, lines = await doctor(world)
    assert status == 1
    [problem] = failures(lines)
    # Slack's Date header has whole seconds, and the machine is busy: about 600 s.
    found = re.search(r"clock is (\d+) s ahead of Slack's", problem)
    assert found is not None, problem
    seconds = int(found.group(1))
    assert 598 <= seconds <= 603 and "NTP" in problem


async def test_a_small_skew_is_a_warning_not_a_failure(world: SlackWorld) -> None:
    world.slack.clock_skew_seconds = 90.0
    status, lines = await doctor(world)
    assert status == 0
    assert any("behind Slack's" in line for line in lines)


async def test_an_old_schema(world: SlackWorld, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    db = Database.connect(url)
    await upgrade(db, "0005")
    await db.close()
    status, lines = await doctor(world, replace(world.settings(), database_url=url))
    assert status == 1
    [problem] = failures(lines)
    assert "at migration 0005" in problem and "firstline migrate" in problem


async def test_a_refused_token_and_an_unreachable_slack_are_told_apart(
    world: SlackWorld,
) -> None:
    settings = replace(world.settings(), slack_api_url="http://127.0.0.1:9/api/")
    status, lines = await doctor(world, settings)
    assert status == 1
    [problem] = failures(lines)
    assert problem.startswith("✗ Could not reach Slack at http://127.0.0.1:9/api/")
    assert "token was not checked" in problem

    world.slack.refused_tokens.add(str(world.bot_token))
    status, lines = await doctor(world)
    assert status == 1
    [problem] = failures(lines)
    assert "Slack refused the bot token: it is not a valid token (invalid_auth)" in problem


async def test_missing_settings_are_named(world: SlackWorld) -> None:
    settings = replace(world.settings(), slack_signing_secret=None)
    checks = await Doctor(settings).run()
    assert any(not c.ok and "SLACK_SIGNING_SECRET" in c.text for c in checks)


async def test_a_database_not_created_yet_is_fine_a_missing_folder_is_not(
    world: SlackWorld, tmp_path: Path
) -> None:
    fresh = replace(world.settings(), database_url=f"sqlite+aiosqlite:///{tmp_path}/new.db")
    status, lines = await doctor(world, fresh)
    assert status == 0 and any("No database yet at" in line for line in lines)
    assert not (tmp_path / "new.db").exists()
    typo = replace(world.settings(), database_url=f"sqlite+aiosqlite:///{tmp_path}/typo/f.db")
    status, lines = await doctor(world, typo)
    assert status == 1
    [problem] = failures(lines)
    assert "does not exist" in problem and not (tmp_path / "typo").exists()


async def test_many_workspaces_are_checked_each_with_its_installed_token(
    tenants: SlackWorld,
) -> None:
    from tests.e2e.installs import TA, TB, install
    from tests.harness import ADMIN

    world = tenants
    for team in (TA, TB):
        assert (await install(world, team)).status == 200
    for team, channel in ((TA, "C0ALPHA"), (TB, "C0BRAVO")):
        async with world.sender_for(team) as sender:
            reply = await sender.command(
                command="/support", text="watch requests", user=ADMIN, channel=channel
            )
            assert "Watching" in reply.json()["text"]
    world.slack.remove_bot("C0BRAVO")
    status, lines = await doctor(world)
    assert status == 1
    assert any("Many workspaces (OAuth)" in line for line in lines)
    assert any(line.startswith("✓ Member of watched channel C0ALPHA") for line in lines)
    [problem] = failures(lines)
    assert "C0BRAVO" in problem and "/invite @Firstline" in problem
    assert sum("Slack accepts the bot token" in line for line in lines) == 2


async def test_teams_settings_when_present(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    partial = Settings.from_env({"DATABASE_URL": url, "MICROSOFT_APP_ID": "app-id"})
    checks = await Doctor(partial).run()
    assert any(not c.ok and "MICROSOFT_APP_PASSWORD is missing" in c.text for c in checks)
    whole = Settings.from_env(
        {"DATABASE_URL": url, "MICROSOFT_APP_ID": "app-id", "MICROSOFT_APP_PASSWORD": "pw"}
    )
    checks = await Doctor(whole).run()
    assert all(c.ok for c in checks), checks
    assert any("Microsoft Teams: app app-id configured" in c.text for c in checks)
