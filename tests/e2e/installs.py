"""Installing Firstline into emulated workspaces through the real OAuth endpoints.

page = await install(world, "TALPHA")   # /slack/install → consent → /slack/oauth_redirect
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import aiohttp

from tests.harness import ADMIN, SlackWorld

CLIENT_ID = "1234.5678"
CLIENT_SECRET = "client-secret-for-tests-0123456789"
TA, TB = "TALPHA", "TBRAVO"


@dataclass
class Page:
    status: int
    text: str
    headers: dict[str, str]


async def get(world: SlackWorld, path: str, *, cookie: str | None = None) -> Page:
    headers = {"Cookie": cookie} if cookie else {}
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.get(f"{world.base_url}{path}", headers=headers, allow_redirects=False) as reply,
    ):
        return Page(reply.status, await reply.text(), dict(reply.headers))


async def start_install(world: SlackWorld) -> tuple[str, str]:
    """GET /slack/install: returns the state Slack is sent and the cookie the browser keeps."""
    page = await get(world, "/slack/install")
    assert page.status == 302, page
    location = urlparse(page.headers["Location"])
    assert location.netloc == "slack.com" and location.path == "/oauth/v2/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert "chat:write" in query["scope"][0].split(",")
    state = query["state"][0]
    cookie = page.headers["Set-Cookie"].split(";")[0]
    assert cookie == f"slack-app-oauth-state={state}"
    return state, cookie


async def install(world: SlackWorld, team: str) -> Page:
    state, cookie = await start_install(world)
    code = world.slack.approve_install(team, user=ADMIN)
    return await get(world, f"/slack/oauth_redirect?code={code}&state={state}", cookie=cookie)
