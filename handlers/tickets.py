"""Ticket systems for the ``ticket`` reaction: Jira's REST API, or a generic webhook.

    tickets = tickets_from_settings(settings, session=http)   # None when not configured
    created = await tickets.create(payload=row.payload)        # called by the deliverer

Jira: ``POST {JIRA_URL}/rest/api/2/issue`` with basic auth (email and API token), the
request's first line as summary and the production-support template as description.
Webhook: ``POST FIRSTLINE_TICKET_WEBHOOK`` with JSON; an answer with ``key``/``url``
(or ``id``) names the ticket.

Idempotency: Jira issues carry the outbox row's key as a label, and after an answer that
was lost (timeout, dropped connection) the retry searches for that label before creating;
the webhook gets the key in an ``Idempotency-Key`` header. The key is the row's id and creation
time (``storage.outbox.identity``): ids alone repeat after a reinstall on an empty database.

429 honours Retry-After, 5xx and network errors are retried with backoff by the outbox,
other answers fail for good with the reason.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp

from bot.config import Settings
from bot.content import DeliveryError
from bot.tickets.port import CreatedTicket, TicketPort
from handlers.outbound import TIMEOUT, post_for_outbox


class JiraTickets:
    name = "Jira"

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        url: str,
        email: str,
        token: str,
        project: str,
        issue_type: str = "Task",
    ) -> None:
        self._session = session
        self._url = url.rstrip("/")
        credentials = base64.b64encode(f"{email}:{token}".encode()).decode()
        self._auth = f"Basic {credentials}"
        self._project = project
        self._issue_type = issue_type

    async def create(
        self, *, payload: dict[str, Any], idempotency_key: str, look_first: bool = False
    ) -> CreatedTicket:
        if look_first:
            found = await self._find(idempotency_key)
            if found is not None:
                return found
        body = {
            "fields": {
                "project": {"key": self._project},
                "summary": str(payload.get("summary") or "Support request"),
                "description": str(payload.get("description") or ""),
                "issuetype": {"name": self._issue_type},
                "labels": [idempotency_key],
            }
        }
        answer = await _post(
            self._session, f"{self._url}/rest/api/2/issue", body, auth=self._auth, who="Jira"
        )
        key = str(answer.get("key") or answer.get("id") or "")
        if not key:
            raise DeliveryError("Jira answered without an issue key", permanent=True)
        return CreatedTicket(key=key, url=f"{self._url}/browse/{key}")

    async def _find(self, label: str) -> CreatedTicket | None:
        """The issue an earlier attempt created, by its label (JQL search)."""
        query = {"jql": f'labels = "{label}"', "fields": "key", "maxResults": "1"}
        try:
            async with self._session.get(
                f"{self._url}/rest/api/2/search",
                params=query,
                headers={"Accept": "application/json", "Authorization": self._auth},
                timeout=TIMEOUT,
            ) as response:
                if response.status >= 300:
                    raise DeliveryError(
                        f"Jira search answered {response.status}; not creating a possible "
                        "duplicate yet",
                        uncertain=True,
                    )
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(
                f"Jira could not be searched ({type(error).__name__})", uncertain=True
            ) from error
        issues = answer.get("issues") if isinstance(answer, dict) else None
        if not issues:
            return None
        key = str(issues[0].get("key") or "")
        return CreatedTicket(key=key, url=f"{self._url}/browse/{key}") if key else None


class WebhookTickets:
    name = "the ticket webhook"

    def __init__(self, *, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._url = url

    async def create(
        self, *, payload: dict[str, Any], idempotency_key: str, look_first: bool = False
    ) -> CreatedTicket:
        body = {
            "summary": payload.get("summary"),
            "description": payload.get("markdown") or payload.get("description"),
            "request": payload.get("request"),
        }
        # The receiver deduplicates by the header; there is nothing to look up here.
        answer = await _post(
            self._session,
            self._url,
            body,
            auth=None,
            who="The ticket webhook",
            idempotency_key=idempotency_key,
        )
        key = str(answer.get("key") or answer.get("id") or "ticket")
        return CreatedTicket(key=key, url=str(answer.get("url") or ""))


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    auth: str | None,
    who: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if auth:
        headers["Authorization"] = auth
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    text = await post_for_outbox(
        session, url, data=json.dumps(body).encode(), headers=headers, who=who, reason=_reason
    )
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def _reason(text: str) -> str:
    """Jira's errorMessages/errors, or the start of whatever came back."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200] or "no reason given"
    if isinstance(data, dict):
        messages = [str(m) for m in data.get("errorMessages") or []]
        errors = data.get("errors") or {}
        if isinstance(errors, dict):
            messages += [f"{k}: {v}" for k, v in errors.items()]
        if messages:
            return "; ".join(messages)[:300]
    return text.strip()[:200]


def tickets_from_settings(
    settings: Settings, *, session: aiohttp.ClientSession
) -> TicketPort | None:
    if settings.jira_url:
        return JiraTickets(
            session=session,
            url=settings.jira_url,
            email=settings.jira_email or "",
            token=settings.jira_api_token or "",
            project=settings.jira_project or "",
            issue_type=settings.jira_issue_type,
        )
    if settings.ticket_webhook:
        return WebhookTickets(session=session, url=settings.ticket_webhook)
    return None
