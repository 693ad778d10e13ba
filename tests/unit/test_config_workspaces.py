"""Settings for many workspaces: what is missing is named, and secrets are listed for redaction."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.errors import ConfigurationError


def test_oauth_needs_id_secret_and_signing_secret() -> None:
    settings = Settings.from_env({"SLACK_CLIENT_ID": "1.2"})
    assert settings.many_workspaces
    with pytest.raises(ConfigurationError) as missing:
        settings.require_slack()
    assert "Missing SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET" in missing.value.message
    assert "Many workspaces" in missing.value.message


def test_oauth_refuses_socket_mode_and_says_what_to_unset() -> None:
    settings = Settings.from_env(
        {
            "SLACK_CLIENT_ID": "1.2",
            "SLACK_CLIENT_SECRET": "secret",
            "SLACK_SIGNING_SECRET": "signing",
            "SLACK_APP_TOKEN": "xapp-1",
        }
    )
    with pytest.raises(ConfigurationError) as refused:
        settings.require_slack()
    assert "Unset SLACK_APP_TOKEN" in refused.value.message


def test_one_workspace_still_needs_its_token() -> None:
    with pytest.raises(ConfigurationError) as missing:
        Settings.from_env({"SLACK_SIGNING_SECRET": "signing"}).require_slack()
    assert "Missing SLACK_BOT_TOKEN" in missing.value.message


def test_every_secret_is_listed_for_redaction_and_none_is_shown() -> None:
    settings = Settings.from_env(
        {
            "SLACK_CLIENT_ID": "1.2",
            "SLACK_CLIENT_SECRET": "client-secret-value",
            "SLACK_SIGNING_SECRET": "signing-secret-value",
            "SLACK_BOT_TOKEN": "xoxb-old-token",
            "DATABASE_URL": "postgresql+asyncpg://firstline:db-password-value@db/firstline",
        }
    )
    assert set(settings.secrets()) == {
        "client-secret-value",
        "signing-secret-value",
        "xoxb-old-token",
        "db-password-value",
    }
    shown = str(settings.redacted())
    assert "oauth" in shown
    assert not any(secret in shown for secret in settings.secrets())
