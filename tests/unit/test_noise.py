"""Which posts are noise: the default list in English and German, and what never is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channel_settings import WatchSettings
from bot.errors import UsageError
from bot.quality.noise import DEFAULT_NOISE, channel_phrases, classify, default_phrases

DOC = Path(__file__).resolve().parents[2] / "docs" / "measurement.md"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("thanks!", "thanks"),
        ("Thank you so much :pray:", "thanks"),
        ("<@U04V70XH6> Thanks !!", "thanks"),
        ("Vielen Dank 🙏", "thanks"),
        ("Danke dir!", "thanks"),
        ("solved, ignore me", "solved"),
        ("hat sich erledigt, danke", "solved"),
        ("Hallo zusammen", "greeting"),
        ("ok cool", "acknowledgement"),
        ("Okay...nice", "acknowledgement"),
        ("alles klar", "acknowledgement"),
        (":thumbsup:", "emoji"),
        (":+1::skin-tone-2:", "emoji"),
        ("👍🏽", "emoji"),
        ("Thanks, I’ll try it", None),
        ("thanks, but it still fails", None),
        ("hi, how do I read a file in Clojure", None),
        ("ok?", None),
        ("thanks <https://example.com/log|log>", None),
        ("<@U04V70XH6>", None),
        ("", None),
        ("help", None),
    ],
)
def test_default_list(text: str, kind: str | None) -> None:
    assert classify(text, phrases=default_phrases()) == kind


def test_a_channel_edits_its_list() -> None:
    phrases = channel_phrases(added=("passt schon",), removed=("ok",))
    assert classify("Passt schon!", phrases=phrases) == "custom"
    assert classify("ok", phrases=phrases) is None
    settings = WatchSettings.build(kind="requests", noise_words="+passt schon,-ok")
    assert settings.noise_added == ("passt schon",) and settings.noise_removed == ("ok",)
    again = settings.with_changes(noise_words="-passt schon")
    assert again.noise_added == () and again.noise_removed == ("ok", "passt schon")
    assert settings.with_changes(noise_words="default").noise_removed == ()
    with pytest.raises(UsageError, match="is not a phrase"):
        settings.with_changes(noise_words="+what?")


def test_the_documented_list_is_the_list() -> None:
    doc = DOC.read_text()
    for kind, phrases in DEFAULT_NOISE.items():
        line = f"- **{kind}**: " + ", ".join(f"`{p}`" for p in phrases)
        assert line in doc, kind
