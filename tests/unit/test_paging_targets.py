"""Paging targets from the environment: names, refusals that say what to set, no secrets."""

from __future__ import annotations

import re

import pytest

from bot.channel_settings import WatchSettings
from bot.config import Settings
from bot.errors import ConfigurationError, UsageError
from bot.paging import paging_target, shown
from handlers.paging import PagingTargets, sign, verify_signature


def test_targets_are_read_by_name_and_listed_without_secrets() -> None:
    targets = PagingTargets.from_env(
        {
            "FIRSTLINE_PAGERDUTY_PAYMENTS_EU": "abcdefgh12345678",
            "FIRSTLINE_PAGERDUTY_EVENTS_URL": "https://events.eu.pagerduty.com/v2/enqueue",
            "FIRSTLINE_WEBHOOK_ONCALL": "https://hooks.example/firstline",
            "FIRSTLINE_WEBHOOK_ONCALL_SECRET": "s3cret",
            "FIRSTLINE_TICKET_WEBHOOK": "https://tickets.example/",  # not a paging target
        }
    )
    assert targets.pagerduty == {"payments_eu": "abcdefgh12345678"}
    assert targets.webhooks["oncall"].secret == "s3cret"
    assert targets.pagerduty_url == "https://events.eu.pagerduty.com/v2/enqueue"
    listed = "\n".join(targets.describe())
    assert "pagerduty:payments_eu  routing key …5678" in listed
    assert "abcdefgh" not in listed and "s3cret" not in listed


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"FIRSTLINE_WEBHOOK_ONCALL": "https://h.example/"}, "FIRSTLINE_WEBHOOK_ONCALL_SECRET"),
        ({"FIRSTLINE_WEBHOOK_ONCALL_SECRET": "x"}, "FIRSTLINE_WEBHOOK_ONCALL (the URL) is not"),
        (
            {"FIRSTLINE_WEBHOOK_ONCALL": "hooks", "FIRSTLINE_WEBHOOK_ONCALL_SECRET": "x"},
            "is not a URL",
        ),
        ({"FIRSTLINE_PAGERDUTY_PAYMENTS": " "}, "set the routing key"),
        ({"FIRSTLINE_PAGERDUTY_PAY.MENTS": "k"}, "letters, digits and _"),
    ],
)
def test_bad_targets_say_what_to_set(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        PagingTargets.from_env(env)


def test_keys_and_secrets_never_reach_the_logs() -> None:
    settings = Settings.from_env(
        {
            "FIRSTLINE_PAGERDUTY_PAYMENTS": "routingkey123",
            "FIRSTLINE_WEBHOOK_ONCALL": "https://h.example/?token=abc",
            "FIRSTLINE_WEBHOOK_ONCALL_SECRET": "s3cret",
        }
    )
    assert {"routingkey123", "https://h.example/?token=abc", "s3cret"} <= set(settings.secrets())


def test_escalate_accepts_paging_targets_and_offhours() -> None:
    settings = WatchSettings.build(kind="alerts", escalate="PagerDuty:Payments", offhours="page")
    assert settings.escalate == "pagerduty:payments" and settings.offhours == "page"
    assert paging_target(settings.escalate) is not None
    assert shown("pagerduty:payments") == "📟 payments" and shown("<@U1>") == "<@U1>"
    with pytest.raises(UsageError, match="not a paging target name"):
        WatchSettings.build(kind="alerts", escalate="webhook:on call!")
    with pytest.raises(UsageError, match="offhours=wait"):
        WatchSettings.build(kind="alerts", offhours="never")


def test_signatures_cover_the_timestamp_and_the_body() -> None:
    signature = sign("k", timestamp="1700000000", body=b'{"a":1}')
    assert verify_signature("k", timestamp="1700000000", body=b'{"a":1}', signature=signature)
    assert not verify_signature("k", timestamp="1700000001", body=b'{"a":1}', signature=signature)
    assert not verify_signature("k", timestamp="1700000000", body=b'{"a":2}', signature=signature)
