"""Signed Slack traffic, as Slack sends it: for the offline demo, replay tests and benchmarks.

    sender = SlackSender(base_url="http://127.0.0.1:3000", signing_secret=secret, team_id="T1")
    await sender.event({"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": ts})

Every request carries ``X-Slack-Signature`` and ``X-Slack-Request-Timestamp`` computed
exactly as Slack computes them, so it goes through Bolt's real verification.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier


@dataclass
class SlackReply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackSender:
    def __init__(
        self,
        *,
        base_url: str,
        signing_secret: str,
        team_id: str,
        api_app_id: str = "AFIRSTLINE",
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/slack/events"
        self.team_id = team_id
        self.api_app_id = api_app_id
        self._signer = SignatureVerifier(signing_secret)
        self._session = session
        self._owns_session = session is None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> SlackSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def envelope(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):010d}",
            "event_time": int(float(event.get("event_ts") or event.get("ts") or time.time())),
            "authorizations": [{"team_id": self.team_id, "user_id": "UFIRSTLINE", "is_bot": True}],
        }

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> SlackReply:
        body = json.dumps(self.envelope(event, event_id=event_id))
        headers = {"Content-Type": "application/json"}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return await self.raw(body, headers=headers, timestamp=timestamp)

    async def command(
        self,
        *,
        command: str,
        text: str,
        user: str,
        channel: str,
        user_name: str = "someone",
        response_url: str = "https://hooks.slack.invalid/commands/T/1/x",
    ) -> SlackReply:
        form = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "demo",
            "channel_id": channel,
            "channel_name": "support",
            "user_id": user,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "response_url": response_url,
            "trigger_id": f"{next(self._ids)}.trigger",
        }
        return await self.raw(
            urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    async def action(
        self, *, action_id: str, value: str, user: str, channel: str, message_ts: str
    ) -> SlackReply:
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "demo"},
            "user": {"id": user, "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": "legacy-verification-token",
            "trigger_id": f"{next(self._ids)}.trigger",
            "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
            "message": {"ts": message_ts, "type": "message"},
            "response_url": "",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.raw(
            urlencode({"payload": json.dumps(payload)}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def shortcut(
        self,
        *,
        callback_id: str,
        user: str,
        channel: str,
        message: dict[str, Any],
    ) -> SlackReply:
        """A message shortcut ("…" menu on a message), as Slack posts it: with a trigger_id,
        so the app may open a modal within three seconds."""
        payload = {
            "type": "message_action",
            "token": "legacy-verification-token",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": self.team_id, "domain": "demo"},
            "user": {"id": user, "team_id": self.team_id, "name": user.lower()},
            "channel": {"id": channel, "name": "support"},
            "is_enterprise_install": False,
            "callback_id": callback_id,
            "trigger_id": f"{next(self._ids)}.trigger",
            "message_ts": message.get("ts"),
            "message": {"type": "message", **message},
            "response_url": "https://hooks.slack.invalid/actions/T/1/x",
            "api_app_id": self.api_app_id,
        }
        return await self.raw(
            urlencode({"payload": json.dumps(payload)}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def view_submission(
        self, *, callback_id: str, user: str, private_metadata: str, values: dict[str, Any]
    ) -> SlackReply:
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "demo"},
            "user": {"id": user, "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": "legacy-verification-token",
            "trigger_id": f"{next(self._ids)}.trigger",
            "view": {
                "id": f"V{next(self._ids):08d}",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
            },
        }
        return await self.raw(
            urlencode({"payload": json.dumps(payload)}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def raw(
        self,
        body: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> SlackReply:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signed = {
            **(headers or {}),
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature
            or str(self._signer.generate_signature(timestamp=stamp, body=body)),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.url, data=body.encode(), headers=signed) as response:
            return SlackReply(response.status, await response.text())
