"""The README's first command and the shell interface, as an operator uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from handlers.demo import SCENES, Demo


async def test_the_demo_tells_the_whole_week_and_writes_its_files(tmp_path: Path) -> None:
    lines: list[str] = []
    folder = tmp_path / "demo"
    assert await Demo(quiet=False, out=lines.append, folder=folder).run() == 0
    transcript = "\n".join(lines)
    for scene in SCENES:  # every section, in order
        if scene.shown:
            assert f"── {scene.title} ──" in transcript
    positions = [transcript.index(f"── {s.title} ──") for s in SCENES if s.shown]
    assert positions == sorted(positions)
    # The desk: nudges, the breach, the second line, the answer; reactions name their message.
    assert "Firstline DMs @ben, @chris: ⏳ A request in #support has waited 3 min" in transcript
    assert "Escalated to @maria" in transcript
    assert "@maria answered it after 13 min" in transcript
    assert "chris reacts :eyes: to “Can someone reset the password" in transcript
    # Open requests are the unanswered ones only.
    status = transcript.split("/support status")[1].split("\n── ")[0]
    assert "(1)" in status and "Is the Hamburg depot export running?" in status
    assert "Invoices" not in status
    # The pick and its Accept; the handoff with figures, breaches and the checklist.
    assert "Next support week (from Wed 25 Nov 09:00): @dan and @erin" in transcript
    assert "dan presses [Accept]" in transcript and "Accepted by @dan" in transcript
    handoff = transcript.split("New support week: @dan and @erin")[1]
    assert "Handing over from @ben and @chris" in handoff.split("\n")[0]
    assert "within target: 4 (80%)" in handoff and "Revoke it from the outgoing pair" in handoff
    assert "Handoff done, confirmed by @dan" in transcript
    # The incident from a request, the phrase handoff, the postmortem.
    assert "dan reacts :fire: to “EU checkout fails" in transcript
    assert "Firstline creates #inc-20261125-eu-checkout-fails" in transcript
    assert "maria presses [I'm taking over as commander]" in transcript
    assert "Commander: @maria" in transcript
    # The weekly report and the figures as people read them, the breach named with its link.
    assert "Weekly report 2026-W48" in transcript
    assert "#support: 6 requests; 6 answered; 83% within target (5 of 6); 1 breached" in transcript
    assert "0.8333" not in transcript
    assert (
        "Breached: “Invoices for November are missing from the export” in #support, first "
        "response after 13 min (target 5 min): https://demo.slack.com/archives/C0SUPPORT/p"
    ) in transcript
    # The files, named at the end.
    assert f"to {folder}/:" in transcript
    charts = sorted(folder.glob("support-*.png"))
    assert [c.name for c in charts] == [
        "support-firstline-2026-W48-heatmap.png",
        "support-firstline-2026-W48-per_day.png",
    ]
    assert all(c.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for c in charts)
    [postmortem] = folder.glob("postmortem-*.md")
    text = postmortem.read_text()
    assert text.startswith("# Postmortem: EU checkout fails")
    timeline = text.split("## Timeline")[1].split("## ")[0]
    for event in ("Declared SEV3", "504 for EU cards", "is commander (was @dan) by handoff"):
        assert event in timeline
    assert (folder / "transcript.txt").read_text().strip() == transcript.strip()


def run_cli(
    *args: str, db: Path, slack_api_url: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The CLI on ``db``; with ``slack_api_url`` it has a bot token for that (fake) Slack."""
    full_env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", **env}
    full_env.pop("SLACK_BOT_TOKEN", None)
    full_env.pop("SLACK_SIGNING_SECRET", None)
    if slack_api_url:
        full_env |= {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": slack_api_url}
    return subprocess.run(
        [sys.executable, "-m", "handlers.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_cli_watch_import_stats(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    refused = run_cli("serve", db=db)
    assert refused.returncode == 2
    assert "SLACK_BOT_TOKEN" in refused.stderr and "firstline demo" in refused.stderr
    assert "Traceback" not in refused.stderr
    no_db = run_cli("watch", "C1", "--kind", "requests", db=db)
    assert no_db.returncode == 2 and f"No database at {db}" in no_db.stderr
    assert not db.exists()  # a mistyped path never becomes a fresh database
    assert run_cli("migrate", db=db).returncode == 0
    no_ws = run_cli("watch", "C1", "--kind", "requests", db=db)
    assert no_ws.returncode == 2 and "--workspace" in no_ws.stderr
    bad = run_cli("watch", "C1", "--kind", "requests", "--target", "5", "--workspace", "T1", db=db)
    assert bad.returncode == 2 and "--target 5m" in bad.stderr and "target=" not in bad.stderr
    ok = run_cli("watch", "C1", "--kind", "requests", "--target", "5m", "--workspace", "T1", db=db)
    assert ok.returncode == 0, ok.stderr
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {
                    "type": "message",
                    "channel": "C1",
                    "user": "U1",
                    "text": "help",
                    "ts": "1000.0",
                    "team": "T1",
                },
                {
                    "type": "message",
                    "channel": "C1",
                    "user": "U2",
                    "text": "on it",
                    "ts": "1120.0",
                    "thread_ts": "1000.0",
                },
                {
                    "type": "message",
                    "channel": "C1",
                    "user": "U3",
                    "text": "me too",
                    "ts": "1200.0",
                },
                {
                    "type": "message",
                    "channel": "C1",
                    "user": "U2",
                    "text": "there",
                    "ts": "1700.0",
                    "thread_ts": "1200.0",
                },
            ]
        )
        + "\nnot json\n"
    )
    imported = run_cli("import", str(events), db=db)
    assert (
        imported.returncode == 1
        and "opened 2" in imported.stdout
        and ":5: not JSON" in imported.stdout
    )
    assert "No links for T1" in imported.stdout and "--workspace-url" in imported.stdout
    again = run_cli("import", str(events), "--workspace-url", "https://acme.slack.com", db=db)
    assert "duplicate 4" in again.stdout and "No links" not in again.stdout
    # Imported requests link to their messages, in the export and in the report's breaches.
    exported = run_cli("export", "requests", "--since", "1970-01-01", "--format", "json", db=db)
    links = [row["permalink"] for row in json.loads(exported.stdout)]
    base = "https://acme.slack.com/archives/C1/"
    assert links == [f"{base}p10000", f"{base}p12000"]
    report = run_cli("report", "--week", "1970-W01", "--channel", "C1", db=db)
    assert "(https://acme.slack.com/archives/C1/p12000)" in report.stdout, report.stdout
    assert "C1 1200.0" not in report.stdout
    bad_url = run_cli("import", str(events), "--workspace-url", "acme", db=db)
    assert bad_url.returncode == 2 and "https://acme.slack.com/" in bad_url.stderr
    stats = json.loads(run_cli("stats", "--format", "json", db=db).stdout)
    assert stats["requests"] == 2 and stats["within_target"] == 1 and stats["breached"] == 1
    assert stats["first_response_seconds"] == {"p50": 310.0, "p90": 462.0, "max": 500.0}
    csv_out = run_cli("stats", "--format", "csv", "--channel", "C1", db=db).stdout.splitlines()
    assert csv_out[0].startswith("channel,kind,requests") and csv_out[1].startswith("C1,requests,2")
    assert run_cli("stats", "--since", "yesterday", db=db).returncode == 2
    # Dates are whole days in the channel's zone, --until's day included: a request at
    # 00:30 Berlin on 1 December (23:30 UTC on 30 November) is not in November.
    berlin = run_cli(
        "watch", "C9", "--kind", "requests", "--target", "5m", "--tz", "Europe/Berlin",
        "--workspace", "T1", db=db,
    )  # fmt: skip
    assert berlin.returncode == 0, berlin.stderr
    late = tmp_path / "late.jsonl"
    edges = ("1793489400.0", "1796081400.0")  # 2026-10-31 / 2026-11-30 23:30 UTC
    message = {"type": "message", "channel": "C9", "user": "U1", "text": "hi?", "team": "T1"}
    late.write_text("\n".join(json.dumps({**message, "ts": ts}) for ts in edges))
    assert run_cli("import", str(late), db=db).returncode == 0
    november = run_cli(
        "stats", "--channel", "C9", "--since", "2026-11-01", "--until", "2026-11-30",
        "--format", "json", db=db,
    )  # fmt: skip
    assert json.loads(november.stdout)["requests"] == 1, november.stderr
    assert "included" in run_cli("stats", "--help", db=db).stdout


async def test_import_learns_the_workspace_address_from_auth_test(tmp_path: Path) -> None:
    import asyncio

    from handlers.slack.emulator import SlackEmulator

    slack = SlackEmulator(team_id="T0DEMO")
    await slack.start()
    try:
        db = tmp_path / "auth.db"
        events = tmp_path / "events.jsonl"
        event = {"type": "message", "channel": "C1", "user": "U1", "text": "help?"}
        events.write_text(json.dumps({**event, "ts": "1000.000100", "team": "T0DEMO"}))

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return run_cli(*args, db=db, slack_api_url=slack.base_url)

        # The emulator answers from this event loop, so the CLI runs in a thread meanwhile.
        assert (await asyncio.to_thread(cli, "migrate")).returncode == 0
        watched = await asyncio.to_thread(
            cli, "watch", "C1", "--kind", "requests", "--target", "5m", "--workspace", "T0DEMO"
        )
        assert watched.returncode == 0, watched.stderr
        imported = await asyncio.to_thread(cli, "import", str(events))
        assert imported.returncode == 0 and "No links" not in imported.stdout, imported.stdout
        exported = await asyncio.to_thread(
            cli, "export", "requests", "--since", "1970-01-01", "--format", "json"
        )
        [row] = json.loads(exported.stdout)
        assert row["permalink"] == f"{slack.url}archives/C1/p1000000100"
        assert [c.method for c in slack.calls].count("auth.test") == 1
    finally:
        await slack.stop()


def test_the_desk_afternoon_is_available_as_rows_for_other_platforms_demos() -> None:
    from handlers.demo import END, SCRIPT, _at

    assert SCRIPT[0] == (
        "16:02",
        "UANNA",
        "post",
        {"text": "Tour 4711 shows no stops in the driver app, drivers are waiting", "key": "tour"},
    )
    assert all(_at(when) < _at(END) for when, *_ in SCRIPT)
    alerts = [row for row in SCRIPT if row[2] == "alert"]
    assert alerts and all(row[3]["channel"] == "C0BUGSNAG" for row in alerts)
