"""The baseline: a bare Bolt app with a no-op ``message`` listener, served like Firstline.

    PORT=3001 SLACK_SIGNING_SECRET=… SLACK_BOT_TOKEN=… SLACK_API_URL=http://…/api/ \
        .venv/bin/python tests/bench/bare_app.py

Same framework, same adapter (``to_bolt_request``/``to_aiohttp_response``), same aiohttp
``run_app`` options and the same logging set-up as ``firstline serve``, so the only
difference the benchmarks measure is what Firstline does with an event. ``/healthz``
answers 200 once the app is built, so the load generator waits the same way for both.
"""

from __future__ import annotations

import logging
import os

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


async def build() -> web.Application:
    bolt = AsyncApp(
        process_before_response=True,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        # The token rides on the client (passing it to AsyncApp as well only logs a warning
        # that the client's token wins): the same single-workspace app either way.
        client=AsyncWebClient(
            token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
        ),
    )

    @bolt.event("message")
    async def noop() -> None:
        pass

    async def slack_events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=1024**2)
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    web.run_app(
        build(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        print=None,
        shutdown_timeout=30,
    )


if __name__ == "__main__":
    main()
