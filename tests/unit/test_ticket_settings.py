"""Ticket settings from the environment, and the production-support ticket template."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.errors import ConfigurationError
from bot.tickets.template import description, summary

JIRA = {
    "JIRA_URL": "https://example.atlassian.net",
    "JIRA_EMAIL": "ops@example.com",
    "JIRA_API_TOKEN": "secret-token",
    "JIRA_PROJECT": "SUP",
}


def test_jira_needs_all_four_variables_and_names_the_missing_ones() -> None:
    settings = Settings.from_env(JIRA)
    assert settings.jira_project == "SUP" and settings.jira_issue_type == "Task"
    assert settings.redacted()["tickets"] == "jira"
    assert "secret-token" not in str(settings.redacted())
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"JIRA_URL": JIRA["JIRA_URL"], "JIRA_PROJECT": "SUP"})
    assert "JIRA_EMAIL, JIRA_API_TOKEN are missing" in caught.value.message
    hook = Settings.from_env({"FIRSTLINE_TICKET_WEBHOOK": "https://hooks.example/t"})
    assert hook.redacted()["tickets"] == "webhook" and hook.jira_url is None
    assert Settings.from_env({}).redacted()["tickets"] == "off"


def test_ticket_summary_and_both_description_styles() -> None:
    assert summary("  Orders not synced\nsince 9") == "Orders not synced"
    assert summary("") == "Support request"
    assert len(summary("x" * 300)) == 120
    fields = {
        "original": "Orders not synced\nsince 9",
        "link": "https://demo.slack.com/archives/C1/p1",
        "requester": "U1",
        "channel": "C1",
        "posted_at": datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        "reported_by": "U2",
    }
    jira = description(**fields, style="jira")
    assert jira.startswith("h4. The Original Request\n\n{quote}\nOrders not synced\nsince 9")
    assert "Asked by U1 in C1 at 2026-11-23 14:00 UTC: https://demo.slack.com" in jira
    assert "h4. Next Actions\n\n- Look into the problem" in jira
    assert jira.count("TBD") == 7
    markdown = description(**fields, style="markdown")
    assert markdown.startswith("#### The Original Request\n\n> Orders not synced\n> since 9")
