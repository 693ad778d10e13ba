"""The README's first command and the shell interface, as an operator uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from handlers.demo import Demo


async def test_demo_tells_a_whole_afternoon() -> None:
    lines: list[str] = []
    assert await Demo(quiet=False, out=lines.append).run() == 0
    transcript = "\n".join(lines)
    assert "Firstline DMs @ben" in transcript
    assert "Firstline replies in a #support thread" in transcript
    assert "Escalated to @maria" in transcript
    assert "@maria answered it after 13 min" in transcript
    assert "#support          requests  4         4          3              1" in transcript


def run_cli(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", **env}
    full_env.pop("SLACK_BOT_TOKEN", None)
    full_env.pop("SLACK_SIGNING_SECRET", None)
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
    no_ws = run_cli("watch", "C1", "--kind", "requests", db=db)
    assert no_ws.returncode == 2 and "--workspace" in no_ws.stderr
    bad = run_cli("watch", "C1", "--kind", "requests", "--target", "5", "--workspace", "T1", db=db)
    assert bad.returncode == 2 and "target=5m" in bad.stderr
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
