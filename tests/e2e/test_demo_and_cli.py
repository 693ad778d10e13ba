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
    for event in ("Declared SEV3", "504 for EU cards", "is commander (was @UDAN) by handoff"):
        assert event in timeline
    assert (folder / "transcript.txt").read_text().strip() == transcript.strip()


def run_cli(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", **env}
    full_env.pop("SLACK_BOT_TOKEN", None)
    full_env.pop("SLACK_SIGNING_SECRET", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
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
    again = run_cli("import", str(events), db=db)
    assert "duplicate 4" in again.stdout
    stats = json.loads(run_cli("stats", "--format", "json", db=db).stdout)
    assert stats["requests"] == 2 and stats["within_target"] == 1 and stats["breached"] == 1
    assert stats["first_response_seconds"] == {"p50": 310.0, "p90": 462.0, "max": 500.0}
    csv_out = run_cli("stats", "--format", "csv", "--channel", "C1", db=db).stdout.splitlines()
    assert csv_out[0].startswith("channel,kind,requests") and csv_out[1].startswith("C1,requests,2")
    assert run_cli("stats", "--since", "yesterday", db=db).returncode == 2


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
