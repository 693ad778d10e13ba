"""The Slack app manifest matches what the app listens to."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_points_everything_at_the_events_endpoint() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    events = set(settings["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.groups", "reaction_added", "reaction_removed"} <= events
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert commands["/support"]["url"].endswith("/slack/events")
    assert commands["/support"]["should_escape"] is True  # mentions arrive as <@U…>
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"channels:history", "groups:history", "chat:write", "commands", "users:read"} <= scopes


def test_manifest_declares_the_triage_message_shortcut() -> None:
    from handlers.slack.app import TRIAGE

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts[TRIAGE]["type"] == "message"
    assert shortcuts[TRIAGE]["name"] == "Triage"
    assert len(shortcuts[TRIAGE]["description"]) <= 80  # Slack's limit


def test_manifest_enables_the_home_tab() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_the_oauth_install_asks_for_exactly_the_manifests_scopes() -> None:
    """One list: the manifest's bot scopes are the install's, im:history included (crash
    recovery looks DMs up), and nothing unused is asked for."""
    from bot.config import Settings
    from handlers.slack.scopes import BOT_SCOPES, default_scopes

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    listed = manifest["oauth_config"]["scopes"]["bot"]
    assert listed == list(BOT_SCOPES)
    assert default_scopes().split(",") == listed
    assert Settings.from_env({}).slack_scopes == ""  # empty: the install uses default_scopes()
    assert "im:history" in listed
    unused = {"reactions:write", "team:read", "usergroups:read", "channels:read", "groups:read"}
    assert not unused & set(listed)
