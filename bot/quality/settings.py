"""How a channel's request-quality settings read back to the people who set them."""

from __future__ import annotations

from bot.channel_settings import QUESTION, WatchSettings
from bot.durations import format_duration


def describe_quality(settings: WatchSettings) -> list[str]:
    """Parts of the /support watch answer: noise filter, bursts, targets, waiting."""
    if settings.noise:
        edits = [f"+{p}" for p in settings.noise_added] + [f"−{p}" for p in settings.noise_removed]
        noise = "noise filter on" + (f" (default list {', '.join(edits)})" if edits else "")
        burst = (
            f"bursts within {format_duration(settings.burst_seconds)} are one request"
            if settings.burst_seconds
            else "no bursts"
        )
        parts = [noise, burst]
    else:
        parts = ["noise filter off (every top-level post can open a request)"]
    if settings.next_target_seconds is not None:
        parts.append(f"next response {format_duration(settings.next_target_seconds)}")
    if settings.resolve_target_seconds is not None:
        parts.append(f"resolve {format_duration(settings.resolve_target_seconds)}")
    if settings.waiting:
        triggers = [
            "a responder's question" if w == QUESTION else f":{w}:" for w in settings.waiting
        ]
        parts.append(f"waiting on requester after {' or '.join(triggers)}")
    return parts
