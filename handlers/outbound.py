"""HTTP posts to other services for the outbox (tickets, pages), answers read one way.

    text = await post_for_outbox(http, url, data=body, headers={...}, who="PagerDuty")

429 honours Retry-After (30 s when absent), 5xx and network errors are retried with
backoff by the outbox, any other refusal fails for good with the reason the service gave.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from bot.content import DeliveryError

TIMEOUT = aiohttp.ClientTimeout(total=30)


def _first_words(text: str) -> str:
    return text.strip()[:200] or "no reason given"


async def post_for_outbox(
    session: aiohttp.ClientSession,
    url: str,
    *,
    data: bytes,
    headers: dict[str, str],
    who: str,
    reason: Callable[[str], str] = _first_words,
) -> str:
    """POST ``data`` as JSON; the answer's text, or ``DeliveryError`` saying what went wrong."""
    sent = {"Content-Type": "application/json", **headers}
    try:
        async with session.post(url, data=data, headers=sent, timeout=TIMEOUT) as response:
            text = await response.text()
            if response.status == 429:
                retry = response.headers.get("Retry-After", "")
                raise DeliveryError(
                    f"{who} answered 429 (rate limited)",
                    retry_after=float(retry) if retry.replace(".", "", 1).isdigit() else 30.0,
                )
            if response.status >= 500:
                raise DeliveryError(f"{who} answered {response.status}")
            if response.status >= 300:
                raise DeliveryError(
                    f"{who} refused it ({response.status}: {reason(text)})", permanent=True
                )
            return text
    except (TimeoutError, aiohttp.ClientError) as error:
        # Refused before sending: certainly nothing made. Anything later: maybe it was.
        maybe_made = not isinstance(error, aiohttp.ClientConnectorError)
        raise DeliveryError(
            f"{who} could not be reached ({type(error).__name__})", uncertain=maybe_made
        ) from error
