"""The Slack Bolt app: one listener per event type, fanning out into the core.

Events are processed before they are acknowledged (``process_before_response``): the
state change, inbox row and outgoing messages commit first, then Slack gets its 200.
If that fails (the database is down, say) Slack gets a 500 and retries the event.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.content import Content
from bot.context import Asker
from bot.core import Core
from bot.facts import Pressed
from bot.frontdoor.router import TRIAGE, Submitted, Where
from bot.rota.service import CHOOSE
from bot.triage.categories import CATEGORIES
from handlers.slack.blocks import render
from handlers.slack.install import Installs
from handlers.slack.install_messages import NOT_INSTALLED
from handlers.slack.membership import join_to_watch
from handlers.slack.normalise import normalise_message, normalise_reaction

log = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 300.0


class AdminCheck:
    """Is a user a workspace admin or owner (users.info), or listed in FIRSTLINE_ADMINS?"""

    def __init__(self, *, admins: frozenset[str]) -> None:
        self._admins = admins
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}

    async def __call__(self, client: AsyncWebClient, *, workspace_id: str, user: str) -> bool:
        if user in self._admins:
            return True
        key = (workspace_id, user)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < ADMIN_CACHE_SECONDS:
            return cached[1]
        try:
            info = (await client.users_info(user=user)).get("user") or {}
        except SlackApiError as error:
            log.warning("users.info failed for an admin check: %s", error.response.get("error"))
            return False
        allowed = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        self._cache[key] = (time.monotonic(), allowed)
        return allowed


class LinkBase:
    """The workspace URL permalinks are built from (learned from auth.test)."""

    def __init__(self, url: str = "https://slack.com/") -> None:
        self.url = url


def reply_channel(body: dict[str, Any]) -> str:
    """Where a button was pressed (the answer goes there, ephemeral)."""
    return str(
        (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or ""
    )


def choose_modal(*, week_id: str, channel: str) -> dict[str, Any]:
    """The Choose… dialog: two people and an optional fallback, checked against the rules."""

    def picker(block: str, label: str, *, optional: bool = False) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {"type": "users_select", "action_id": "user"},
        }

    return {
        "type": "modal",
        "callback_id": CHOOSE,
        "private_metadata": f"{week_id}:{channel}",
        "title": {"type": "plain_text", "text": "Choose the pair"},
        "submit": {"type": "plain_text", "text": "Choose"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            picker("first", "First person"),
            picker("second", "Second person"),
            picker("fallback", "Fallback (optional)", optional=True),
        ],
    }


def triage_modal(*, channel: str, ts: str, current: str | None, snippet: str) -> dict[str, Any]:
    """The Triage dialog: one category from the handbook's list, the current one selected."""

    def option(key: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": CATEGORIES[key]}, "value": key}

    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": "category",
        "placeholder": {"type": "plain_text", "text": "Choose a category"},
        "options": [option(key) for key in CATEGORIES],
    }
    if current in CATEGORIES:
        select["initial_option"] = option(current)
    return {
        "type": "modal",
        "callback_id": TRIAGE,
        "private_metadata": f"{channel}:{ts}",
        "title": {"type": "plain_text", "text": "Triage"},
        "submit": {"type": "plain_text", "text": "Set category"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": snippet[:2900] or " "}},
            {
                "type": "input",
                "block_id": "category",
                "label": {"type": "plain_text", "text": "Category"},
                "element": select,
            },
        ],
    }


def is_chatter(core: Core, body: str, content_type: str) -> bool:
    """A signed Events API message in a channel nothing acts on, in any workspace.

    Most of a workspace's messages are such chatter. The server answers them at once, as
    ``on_message`` would after Bolt's per-event work (context, authorisation, middleware,
    listener matching), which cost more than everything else such an event needs. Only a
    certain answer drops an event (``Core.ignores_channel``); anything else takes Bolt's way.
    """
    if not content_type.startswith("application/json"):
        return False  # slash commands and interactions are form-encoded
    try:
        payload = json.loads(body)
    except ValueError:
        return False  # Bolt answers what it cannot read
    if not isinstance(payload, dict) or payload.get("type") != "event_callback":
        return False
    event = payload.get("event")
    if not isinstance(event, dict) or event.get("type") != "message":
        return False
    channel = event.get("channel")
    if not isinstance(channel, str) or not core.ignores_channel(channel):
        return False
    core.metrics.events.labels(platform="slack", type="message").inc()  # as on_message counts
    return True


def build_bolt_app(
    *,
    core: Core,
    settings: Settings,
    client: AsyncWebClient,
    links: LinkBase,
    installs: Installs | None = None,
) -> AsyncApp:
    """The Bolt app; given ``installs`` (many workspaces) each request acts with the token
    of the workspace it came from, found in the installation store."""
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "socket-mode",
        process_before_response=True,
        ignoring_self_events_enabled=True,
        request_verification_enabled=settings.slack_app_token is None,
        logger=logging.getLogger("slack_bolt"),
        oauth_settings=installs.bolt_settings if installs is not None else None,
        # An AsyncAuthorize instance is allowed beside oauth_settings; its stub type is narrower.
        authorize=cast(Any, installs.authorize) if installs is not None else None,
        user_facing_authorize_error_message=NOT_INSTALLED,
    )
    is_admin = AdminCheck(admins=settings.admins)
    metrics = core.metrics

    def workspace_of(body: dict[str, Any], context: Any) -> str:
        return str(context.team_id or body.get("team_id") or body.get("team", {}).get("id") or "")

    def event_key(body: dict[str, Any]) -> str | None:
        # Scoped by workspace too: one workspace's event id can never swallow another's.
        event_id, team = body.get("event_id"), body.get("team_id")
        if not isinstance(event_id, str) or not event_id:
            return None
        return f"slack:{team}:{event_id}" if isinstance(team, str) and team else f"slack:{event_id}"

    message_events = metrics.events.labels(platform="slack", type="message")

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        message_events.inc()
        workspace_id = workspace_of(body, context)
        channel = event.get("channel")
        # Most messages are chatter in channels nobody watches: drop them before any work.
        if not isinstance(channel, str) or not await core.listens_to(workspace_id, channel):
            return
        fact = normalise_message(event, workspace_id=workspace_id)
        if fact is not None:
            await core.route(fact, event_key=event_key(body))

    async def on_reaction(
        body: dict[str, Any], event: dict[str, Any], context: Any, added: bool
    ) -> None:
        metrics.events.labels(platform="slack", type=event.get("type", "reaction")).inc()
        fact = normalise_reaction(event, workspace_id=workspace_of(body, context), added=added)
        if fact is not None:
            await core.route(fact, event_key=event_key(body))

    @app.event("reaction_added")
    async def on_reaction_added(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        await on_reaction(body, event, context, True)

    @app.event("app_home_opened")
    async def on_home_opened(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        metrics.events.labels(platform="slack", type="app_home_opened").inc()
        user = str(event.get("user") or "")
        if user and event.get("tab", "home") == "home":
            await core.reports.home_opened(workspace_id=workspace_of(body, context), user=user)

    @app.event("reaction_removed")
    async def on_reaction_removed(
        body: dict[str, Any], event: dict[str, Any], context: Any
    ) -> None:
        await on_reaction(body, event, context, False)

    def asker(client: AsyncWebClient, workspace_id: str, user: str) -> Asker:
        async def admin() -> bool:
            return await is_admin(client, workspace_id=workspace_id, user=user)

        async def join(channel_id: str) -> None:
            await join_to_watch(client, channel_id=channel_id)  # else Slack sends it no events

        return Asker(platform="slack", prefix="/", is_admin=admin, join=join)

    async def rendered(content: Content, workspace_id: str) -> dict[str, Any]:
        base_url = links.url
        if installs is not None:
            base_url = await core.workspace_url(workspace_id) or base_url
        return render(content, base_url=base_url)

    async def on_command(
        group: str, ack: Any, command: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        """Every slash command goes to the front door; the answer is ephemeral, never a trace."""
        metrics.events.labels(platform="slack", type="command").inc()
        workspace_id = str(context.team_id or command.get("team_id") or "")
        user = str(command.get("user_id") or "")
        where = Where(workspace_id, str(command.get("channel_id") or ""), user)
        try:
            answer = await core.command(
                group=group,
                text=str(command.get("text") or ""),
                where=where,
                asker=asker(client, workspace_id, user),
            )
            content = answer.content or Content(text="Done.")
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command failed (ref %s)", ref)
            content = Content(
                text=f"Something went wrong on Firstline's side (ref {ref}); nothing was "
                "changed. Try again in a minute, or ask your admin to check the logs."
            )
        await ack(response_type="ephemeral", **await rendered(content, workspace_id))

    def listener(group: str) -> Callable[..., Awaitable[None]]:
        async def on_group(
            ack: Any, command: dict[str, Any], context: Any, client: AsyncWebClient
        ) -> None:
            await on_command(group, ack, command, context, client)

        return on_group

    app.command(settings.support_command)(listener("support"))
    app.command(settings.incident_command)(listener("incident"))
    app.command(settings.rota_command)(listener("rota"))

    @app.action(re.compile(r"^(rota_|incident_|desk_|toil_|history_)"))
    async def on_button(
        ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        """Every button goes to the front door; a dialog it asks for opens here."""
        await ack()
        workspace_id = workspace_of(body, context)
        user = str(body.get("user", {}).get("id") or "")
        answer = await core.press(
            Pressed(
                workspace_id=workspace_id,
                channel_id=reply_channel(body),
                user=user,
                action_id=str(action.get("action_id") or ""),
                value=str(action.get("value") or ""),
            ),
            asker=asker(client, workspace_id, user),
        )
        if answer.dialog is not None and answer.dialog.kind == CHOOSE:
            await client.views_open(
                trigger_id=str(body.get("trigger_id") or ""),
                view=choose_modal(week_id=answer.dialog.ref, channel=answer.dialog.channel_id),
            )

    @app.view(CHOOSE)
    async def on_rota_chosen(
        ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        values = view.get("state", {}).get("values", {})

        def picked(block: str) -> str:
            return str(values.get(block, {}).get("user", {}).get("selected_user") or "")

        week_id, _, channel = str(view.get("private_metadata") or "").partition(":")
        workspace_id = workspace_of(body, context)
        user = str(body.get("user", {}).get("id") or "")
        answer = await core.submit(
            Submitted(
                workspace_id=workspace_id,
                channel_id=channel,
                user=user,
                kind=CHOOSE,
                ref=week_id,
                values={block: picked(block) for block in ("first", "second", "fallback")},
            ),
            asker=asker(client, workspace_id, user),
        )
        if answer.refused and answer.content is not None:
            await ack(response_action="errors", errors={"first": answer.content.text[:2000]})
            return
        await ack()

    @app.shortcut(TRIAGE)
    async def on_triage(
        ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        """The message menu goes to the front door as a press; its dialog opens here."""
        await ack()
        workspace_id = workspace_of(body, context)
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        ts = str(message.get("thread_ts") or message.get("ts") or body.get("message_ts") or "")
        user = str((body.get("user") or {}).get("id") or "")
        answer = await core.press(
            Pressed(workspace_id, channel, user, TRIAGE, f"{channel}:{ts}"),
            asker=asker(client, workspace_id, user),
        )
        if answer.dialog is None:
            return  # refused: Core.press has told them why
        request = await core.triage.find(workspace_id=workspace_id, channel_id=channel, ts=ts)
        if request is None:
            return  # deleted since the front door looked: the dialog would be for nothing
        await client.views_open(
            trigger_id=str(body.get("trigger_id") or ""),
            view=triage_modal(
                channel=channel,
                ts=request.ts,
                current=await core.triage.current(request.id),
                snippet=f"> {' '.join(request.text.split())[:300]}",
            ),
        )

    @app.view(TRIAGE)
    async def on_triaged(
        ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        values = view.get("state", {}).get("values", {})
        chosen = values.get("category", {}).get("category", {}).get("selected_option") or {}
        channel, _, ts = str(view.get("private_metadata") or "").partition(":")
        user = str(body.get("user", {}).get("id") or "")
        workspace_id = workspace_of(body, context)
        if not chosen.get("value"):
            await ack(response_action="errors", errors={"category": "Choose a category."})
            return
        answer = await core.submit(
            Submitted(
                workspace_id=workspace_id,
                channel_id=channel,
                user=user,
                kind=TRIAGE,
                ref=f"{channel}:{ts}",
                values={"category": str(chosen["value"])},
            )
        )
        if answer.refused and answer.content is not None:
            await ack(response_action="errors", errors={"category": answer.content.text[:2000]})
            return
        await ack()

    if installs is not None:

        @app.event("app_uninstalled")
        async def on_uninstalled(body: dict[str, Any], context: Any) -> None:
            await installs.uninstalled(workspace_of(body, context))

        @app.event("tokens_revoked")
        async def on_tokens_revoked(
            body: dict[str, Any], event: dict[str, Any], context: Any
        ) -> None:
            tokens = event.get("tokens") or {}
            await installs.uninstalled(
                workspace_of(body, context),
                bot=bool(tokens.get("bot")),
                users=bool(tokens.get("oauth")),
            )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "listener failed (%s); Slack will retry the event", type(error).__name__, exc_info=error
        )

    return app
