"""Paging services: PagerDuty's Events API v2 and signed webhooks, as the operator set them.

    pager = Pager.from_env(os.environ, session=http, clock=clock)   # None: no targets
    await pager.send(payload=row.payload)                              # called by the deliverer

Targets come from the environment, never from a channel:

- ``FIRSTLINE_PAGERDUTY_<NAME>=<integration routing key>`` → ``escalate=pagerduty:<name>``
  (``FIRSTLINE_PAGERDUTY_EVENTS_URL`` overrides the endpoint, e.g. the EU service region).
- ``FIRSTLINE_WEBHOOK_<NAME>=<https URL>`` and ``FIRSTLINE_WEBHOOK_<NAME>_SECRET=<secret>``
  → ``escalate=webhook:<name>``.

``<NAME>`` is upper case with ``_``; channels write it lower case (``PAYMENTS_EU`` →
``pagerduty:payments_eu``). PagerDuty gets ``trigger``/``acknowledge``/``resolve`` events
with one ``dedup_key`` per request, so a resend after a crash lands on the same incident.
A webhook gets JSON ``{"event", "idempotency_key", "request", "link", "step", …}`` with
``Idempotency-Key``, ``X-Firstline-Timestamp`` and ``X-Firstline-Signature: sha256=<hex>``,
the HMAC-SHA256 of ``"<timestamp>.<body>"`` under the secret (``verify_signature``).
429 honours Retry-After, 5xx and network errors are retried with backoff by the outbox,
any other refusal fails for good and the request's thread says why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.content import Delivered, DeliveryError
from bot.errors import ConfigurationError
from bot.paging import paging_target
from handlers.outbound import post_for_outbox

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SIGNATURE = "X-Firstline-Signature"
TIMESTAMP = "X-Firstline-Timestamp"
_PD_PREFIX = "FIRSTLINE_PAGERDUTY_"
_HOOK_PREFIX = "FIRSTLINE_WEBHOOK_"
_SECRET_SUFFIX = "_SECRET"
_RESERVED = {"EVENTS_URL"}


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str


@dataclass(frozen=True)
class PagingTargets:
    """What the operator configured: routing keys and webhooks by lower-case name."""

    pagerduty: dict[str, str] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    pagerduty_url: str = PAGERDUTY_EVENTS_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PagingTargets:
        pagerduty: dict[str, str] = {}
        urls: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for variable, value in env.items():
            if variable.startswith(_PD_PREFIX) and variable[len(_PD_PREFIX) :] not in _RESERVED:
                name = _name(variable, _PD_PREFIX)
                if not value.strip():
                    raise ConfigurationError(f"{variable} is empty: set the routing key.")
                pagerduty[name] = value.strip()
            elif variable.startswith(_HOOK_PREFIX) and variable.endswith(_SECRET_SUFFIX):
                secrets[_name(variable[: -len(_SECRET_SUFFIX)], _HOOK_PREFIX)] = value
            elif variable.startswith(_HOOK_PREFIX):
                urls[_name(variable, _HOOK_PREFIX)] = value.strip()
        webhooks = {}
        for name, url in urls.items():
            env_name = f"{_HOOK_PREFIX}{name.upper()}"
            if not url.startswith(("https://", "http://")):
                raise ConfigurationError(
                    f"{env_name}={url!r} is not a URL; give the receiver's https:// address."
                )
            secret = secrets.get(name, "")
            if not secret:
                raise ConfigurationError(
                    f"{env_name} has no secret: set {env_name}{_SECRET_SUFFIX} (the receiver "
                    "checks the X-Firstline-Signature made with it)."
                )
            webhooks[name] = Webhook(url=url, secret=secret)
        for name in secrets.keys() - urls.keys():
            raise ConfigurationError(
                f"{_HOOK_PREFIX}{name.upper()}{_SECRET_SUFFIX} is set but "
                f"{_HOOK_PREFIX}{name.upper()} (the URL) is not."
            )
        url = env.get(f"{_PD_PREFIX}EVENTS_URL") or PAGERDUTY_EVENTS_URL
        return cls(pagerduty=pagerduty, webhooks=webhooks, pagerduty_url=url)

    def describe(self) -> list[str]:
        """One line per target, with no secret in it (for `firstline paging list`)."""
        lines = [f"pagerduty:{n}  routing key …{k[-4:]}" for n, k in sorted(self.pagerduty.items())]
        lines += [f"webhook:{n}  {h.url}  (signed)" for n, h in sorted(self.webhooks.items())]
        return lines


def _name(variable: str, prefix: str) -> str:
    name = variable[len(prefix) :].lower()
    if paging_target(f"pagerduty:{name}") is None:
        raise ConfigurationError(
            f"{variable}: the part after {prefix} must be letters, digits and _ (at most 40), "
            f"e.g. {prefix}PAYMENTS."
        )
    return name


def sign(secret: str, *, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(secret: str, *, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver runs: the signature is over the timestamp and the exact body."""
    return hmac.compare_digest(sign(secret, timestamp=timestamp, body=body), signature)


class Pager:
    """Sends the outbox's ``page`` rows to the target each names."""

    def __init__(
        self, *, targets: PagingTargets, session: aiohttp.ClientSession, clock: Clock
    ) -> None:
        self.targets = targets
        self._session = session
        self._clock = clock

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, session: aiohttp.ClientSession, clock: Clock
    ) -> Pager:
        return cls(targets=PagingTargets.from_env(env), session=session, clock=clock)

    async def send(self, *, payload: dict[str, Any]) -> Delivered:
        target = paging_target(str(payload.get("target")))
        if target is None:
            raise DeliveryError(f"{payload.get('target')!r} is not a paging target", permanent=True)
        if target.kind == "pagerduty":
            key = self.targets.pagerduty.get(target.name)
            if key is None:
                raise DeliveryError(
                    f"no PagerDuty routing key named {target.name} is configured (the operator "
                    f"sets {_PD_PREFIX}{target.name.upper()})",
                    permanent=True,
                )
            await self._pagerduty(key, payload)
        else:
            hook = self.targets.webhooks.get(target.name)
            if hook is None:
                raise DeliveryError(
                    f"no webhook named {target.name} is configured (the operator sets "
                    f"{_HOOK_PREFIX}{target.name.upper()} and its _SECRET)",
                    permanent=True,
                )
            await self._webhook(hook, payload)
        return Delivered(str(target)[:64], str(payload.get("action") or "")[:32])

    async def _pagerduty(self, routing_key: str, payload: dict[str, Any]) -> None:
        action = str(payload["action"])
        event: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": action,
            "dedup_key": payload["dedup_key"],
        }
        if action == "trigger":
            event["payload"] = {
                "summary": str(payload.get("summary") or "Firstline page")[:1024],
                "source": f"firstline:{payload.get('channel_id')}",
                "severity": payload.get("severity") or "error",
                "timestamp": payload.get("at"),
                "custom_details": {
                    "step": payload.get("step"),
                    "waited_seconds": payload.get("waited_seconds"),
                    "target_seconds": payload.get("target_seconds"),
                    "request": payload.get("request"),
                },
            }
            if payload.get("link"):
                event["links"] = [{"href": payload["link"], "text": "The request in chat"}]
        body = json.dumps(event).encode()
        await self._post(self.targets.pagerduty_url, body, headers={}, who="PagerDuty")

    async def _webhook(self, hook: Webhook, payload: dict[str, Any]) -> None:
        document = {
            "event": payload["action"],
            "idempotency_key": payload["idempotency_key"],
            "dedup_key": payload["dedup_key"],
            "target": payload["target"],
            "step": payload.get("step"),
            "link": payload.get("link"),
            "summary": payload.get("summary"),
            "reason": payload.get("reason"),
            "request": payload.get("request")
            or {"channel_id": payload.get("channel_id"), "ts": payload.get("thread_ts")},
            "at": payload.get("at"),
        }
        body = json.dumps(document).encode()
        timestamp = str(int(self._clock.now().timestamp()))
        headers = {
            "Idempotency-Key": str(payload["idempotency_key"]),
            TIMESTAMP: timestamp,
            SIGNATURE: sign(hook.secret, timestamp=timestamp, body=body),
        }
        await self._post(hook.url, body, headers=headers, who="The webhook")

    async def _post(self, url: str, body: bytes, *, headers: dict[str, str], who: str) -> None:
        await post_for_outbox(self._session, url, data=body, headers=headers, who=who)


async def send_test_page(env: Mapping[str, str], *, target: str) -> int:
    """`firstline paging test <target>`: a trigger and its resolve, so the operator sees the
    route work end to end; prints what happened and returns an exit status."""
    from datetime import UTC, datetime

    from bot.clock import SystemClock

    chosen = paging_target(target)
    if chosen is None:
        print(f"{target!r} is not a paging target; write pagerduty:<name> or webhook:<name>.")
        return 2
    now = datetime.now(UTC)
    key = f"firstline:test:{int(now.timestamp())}"
    base = {
        "target": str(chosen),
        "dedup_key": key,
        "channel_id": "test",
        "thread_ts": "0",
        "at": now.isoformat(),
        "step": "test",
        "summary": "Firstline test page: resolved at once, nothing to do",
    }
    async with aiohttp.ClientSession() as session:
        pager = Pager.from_env(env, session=session, clock=SystemClock())
        try:
            for action in ("trigger", "resolve"):
                await pager.send(
                    payload={**base, "action": action, "idempotency_key": f"{key}:{action}"}
                )
        except DeliveryError as error:
            print(f"The test page to {chosen} failed: {error}")
            return 1
    print(f"Sent a test page to {chosen} and resolved it (dedup key {key}).")
    return 0
