"""The Teams app package: `firstline teams-package` zips the manifest with the app id."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from handlers.cli import main
from handlers.teams.package import PLACEHOLDER_APP_ID, color_icon, manifest, outline_icon

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "0b5d3c8e-1f42-4c77-a0e9-5c1d2e3f4a5b"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_teams_package_zips_the_manifest_with_the_app_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    out = tmp_path / "pkg" / "firstline.zip"
    assert main(["teams-package", "--out", str(out), "--host", "bot.example.com"]) == 0
    assert "Wrote" in capsys.readouterr().out
    with zipfile.ZipFile(out) as bundle:
        assert sorted(bundle.namelist()) == ["color.png", "manifest.json", "outline.png"]
        data = json.loads(bundle.read("manifest.json"))
        assert png_size(bundle.read("color.png")) == (192, 192)
        assert png_size(bundle.read("outline.png")) == (32, 32)
    assert data["id"] == APP_ID and data["bots"][0]["botId"] == APP_ID
    assert sorted(data["bots"][0]["scopes"]) == ["personal", "team"]
    rsc = data["authorization"]["permissions"]["resourceSpecific"]
    assert {"name": "ChannelMessage.Read.Group", "type": "Application"} in rsc
    assert data["webApplicationInfo"]["id"] == APP_ID
    assert data["validDomains"] == ["bot.example.com"]
    assert data["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_teams_package_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "x.zip")]) == 2
    assert "Set MICROSOFT_APP_ID" in capsys.readouterr().err
    assert main(["teams-package", "--out", str(tmp_path / "x.zip"), "--app-id", "my-bot"]) == 2
    assert "is not an app id" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_the_checked_in_template_is_what_the_builder_writes() -> None:
    """teams/ in the repository is generated (python -m handlers.teams.package)."""
    on_disk = json.loads((ROOT / "teams" / "manifest.json").read_text())
    assert on_disk == manifest(app_id=PLACEHOLDER_APP_ID)
    assert (ROOT / "teams" / "color.png").read_bytes() == color_icon()
    assert (ROOT / "teams" / "outline.png").read_bytes() == outline_icon()


def test_teams_settings_say_what_is_missing() -> None:
    from bot.config import Settings
    from bot.errors import ConfigurationError
    from handlers.server import build_server

    base = {"DATABASE_URL": "sqlite+aiosqlite:///:memory:", "MICROSOFT_APP_ID": APP_ID}
    cases = [
        ({}, "MICROSOFT_APP_PASSWORD is missing"),
        ({"MICROSOFT_APP_PASSWORD": "s", "MICROSOFT_APP_TYPE": "Solo"}, "is not a bot type"),
        (
            {"MICROSOFT_APP_PASSWORD": "s", "MICROSOFT_APP_TYPE": "SingleTenant"},
            "needs MICROSOFT_APP_TENANT_ID",
        ),
    ]
    for extra, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            build_server(Settings.from_env({**base, **extra}))
    # Teams only: no Slack variables needed.
    app = build_server(Settings.from_env({**base, "MICROSOFT_APP_PASSWORD": "s"}))
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    assert ("POST", "/api/messages") in routes and ("POST", "/slack/events") not in routes
