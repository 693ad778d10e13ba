"""Every configuration and command-line mistake a newcomer makes gets one line naming what
is wrong and what to type, a non-zero exit, and no traceback."""

from __future__ import annotations

import importlib.util
import json
import socket
import zipfile
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from handlers.cli import main
from handlers.operator_errors import slack_failure

CLEAN_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "MICROSOFT_APP_ID",
    "LOG_LEVEL",
    "DATABASE_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse's own exits
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The command fails with exactly one line on stderr, and no traceback."""
    status, _out, err = run(capsys, *argv)
    assert status != 0
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:secret@db.example/firstline", "postgresql+asyncpg://u:***@db.example"),
        ("postgresql://u:secret@db.example/firstline", "postgresql+asyncpg://u:***@db.example"),
        ("postgresql+psycopg2://u@db.example/f", "postgresql+asyncpg://u@db.example/f"),
        ("sqlite:///firstline.db", "sqlite+aiosqlite:///firstline.db"),
        ("mysql://u@h/db", "Firstline runs on SQLite"),
        ("firstline.db", "is not a database URL"),
    ],
)
def test_database_url_forms(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    line = refused(capsys, "stats")
    assert expected in line
    assert "secret" not in line


def test_missing_asyncpg_says_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "asyncpg" else real(name, *a)
    )
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@127.0.0.1/f")
    assert "pip install '.[postgres]'" in refused(capsys, "migrate")


def test_unreachable_database_host(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@127.0.0.1:9/firstline")
    line = refused(capsys, "stats")
    assert "Nothing answers at 127.0.0.1:9" in line and "DATABASE_URL" in line


def test_log_level(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    line = refused(capsys, "stats")
    assert "LOG_LEVEL='LOUD'" in line and "LOG_LEVEL=INFO" in line


def test_sqlite_never_creates_missing_folders(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/typo/firstline.db")
    line = refused(capsys, "migrate")
    assert f"{tmp_path}/typo" in line and "does not exist" in line
    assert not (tmp_path / "typo").exists()


def test_stats_in_another_folder_names_the_file_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = refused(capsys, "stats")
    assert f"No database at {tmp_path}/firstline.db" in line
    assert not (tmp_path / "firstline.db").exists()


def test_unreachable_slack_is_not_a_refused_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    with socket.socket() as probe:  # a free port: serve gets as far as asking Slack
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("PORT", str(probe.getsockname()[1]))
    monkeypatch.setenv("HOST", "127.0.0.1")
    line = refused(capsys, "serve")
    assert "Could not reach Slack at http://127.0.0.1:9/api/" in line
    assert "refused" not in line


def test_a_refused_token_says_so() -> None:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/auth.test",
        req_args={},
        data={"ok": False, "error": "invalid_auth"},
        headers={},
        status_code=200,
    )
    line = slack_failure(SlackApiError("refused", response), api_url="https://slack.com/api/")
    assert line.startswith("Slack refused the bot token: it is not a valid token (invalid_auth)")


def migrated(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "migrate")[0] == 0


def test_the_cli_speaks_cli_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    migrated(capsys)
    line = refused(capsys, "watch", "C0123ABCD", "--kind", "requests", "--escalate", "@maria")
    assert "--escalate S0123ABCD" in line and "escalate=" not in line
    line = refused(
        capsys, "watch", "C0123ABCD", "--kind", "requests", "--workspace", "T1", "--target", "5"
    )
    assert "--target 5m" in line and "target=" not in line
    line = refused(capsys, "responders", "C0123ABCD", "U0ANNA", "--workspace", "T1")
    assert "firstline watch" in line and "/support" not in line


def test_ids_are_validated(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, "watch", "not-a-channel", "--kind", "requests")
    assert "'not-a-channel' is not a channel id, e.g. C0123ABCD" in line
    line = refused(capsys, "responders", "C0123ABCD", "anna")
    assert "'anna' is not a user id, e.g. U0123ABCD" in line


def test_import_refuses_what_is_not_slack_history(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake = tmp_path / "export.zip"
    fake.write_text("this is a text file\n")
    assert "not a zip archive" in refused(capsys, "import", str(fake))

    odd = tmp_path / "odd.zip"
    with zipfile.ZipFile(odd, "w") as archive:
        archive.writestr("notes.txt", "hello")
        archive.writestr("picture.png", b"\x89PNG")
    assert "no channels.json" in refused(capsys, "import", str(odd))

    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("channels.json", "not json")
    assert "not JSON" in refused(capsys, "import", str(broken))

    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no channels.json" in refused(capsys, "import", str(empty))
    assert not (tmp_path / "firstline.db").exists()

    good = tmp_path / "events.jsonl"
    event = {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.0"}
    good.write_text(json.dumps({**event, "team": "T1"}) + "\n")
    status, out, _err = run(capsys, "import", str(good))
    assert status == 0 and "Imported 1 events" in out


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.startswith("firstline ")
    status, out, _ = run(capsys, "serve", "--help")
    assert status == 0
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL"):
        assert name in out
    status, out, _ = run(capsys, "stats", "--help")
    assert "DATABASE_URL" in out
