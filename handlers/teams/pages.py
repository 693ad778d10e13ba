"""The privacy statement and terms of use the Teams app package links to (``/privacy``,
``/terms``), served by Firstline itself so the links in the package always resolve.

    add_pages(app)
"""

from __future__ import annotations

from html import escape

from aiohttp import web

PRIVACY = (
    "Privacy statement",
    [
        "Firstline runs on your organisation's own server; its operator is whoever installed "
        "it. Nothing is sent to the Firstline project.",
        "It stores what it needs to measure first responses in the channels it was asked to "
        "watch: each message's id, time, author id and display name, its text (for status "
        "lists and FAQ answers), replies and edits, and the commands people give it. In "
        "Teams it also stores conversation references (ids and the Bot Connector address) "
        "to post later, and people's Microsoft Entra object ids for admin checks.",
        "Data stays in the operator's database until the operator deletes it; "
        "``@Firstline support unwatch`` (``/support unwatch`` in Slack) stops collection in a "
        "channel; the figures already measured are kept.",
        "Messages go to Microsoft Teams through the Bot Connector, and, when configured, to "
        "the operator's ticket system or paging service. Ask your operator for access to "
        "or deletion of your data.",
    ],
)
TERMS = (
    "Terms of use",
    [
        "Firstline is open-source software provided as is, without warranty of any kind, "
        "under the licence in its repository.",
        "The organisation that runs it decides who may use it and is responsible for how "
        "it is used in its Teams tenant and Slack workspace.",
    ],
)


def _page(title: str, paragraphs: list[str]) -> web.Response:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Firstline: '
        f"{escape(title)}</title></head><body><h1>Firstline: {escape(title)}</h1>{body}"
        "</body></html>"
    )
    return web.Response(text=html, content_type="text/html")


async def privacy(request: web.Request) -> web.Response:
    return _page(*PRIVACY)


async def terms(request: web.Request) -> web.Response:
    return _page(*TERMS)


def add_pages(app: web.Application) -> None:
    app.router.add_get("/privacy", privacy)
    app.router.add_get("/terms", terms)
