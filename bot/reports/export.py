"""Requests as rows, for `firstline export requests` (CSV or JSON).

    rows = await request_rows(db, now=now, since=since, workspace_id="T1")
    print(format_rows(rows, "csv"))

One row per request (or alert), with what the figures are made of: when it was asked,
when and how it was first answered, whether that was within target, when it was closed.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.stats import Figures
from storage.engine import Database
from storage.models import Request, Workspace

COLUMNS = (
    "workspace",
    "channel",
    "kind",
    "ts",
    "permalink",
    "posted_at",
    "requester",
    "target_seconds",
    "first_response_at",
    "first_responder",
    "first_response_via",
    "first_response_seconds",
    "within_target",
    "breached",
    "closed_at",
    "closed_by",
    "close_seconds",
    "occurrences",
    "text",
)


async def request_rows(
    db: Database,
    *,
    now: datetime,
    since: datetime | None,
    until: datetime | None = None,
    workspace_id: str | None = None,
    channel_id: str | None = None,
) -> list[dict[str, Any]]:
    """Requests posted in [since, until), oldest first; deleted ones are left out."""
    query = select(Request).where(Request.deleted.is_(False))
    if since is not None:
        query = query.where(Request.posted_at >= since)
    if until is not None:
        query = query.where(Request.posted_at < until)
    if workspace_id:
        query = query.where(Request.workspace_id == workspace_id)
    if channel_id:
        query = query.where(Request.channel_id == channel_id)
    async with db.reading() as session:
        urls = {w.id: w.url for w in (await session.scalars(select(Workspace))).all()}
        rows = (await session.scalars(query.order_by(Request.posted_at, Request.id))).all()
        result = []
        for row in rows:
            probe = Figures()
            probe.add(row, now)
            base = urls.get(row.workspace_id) or ""
            if base and not base.endswith("/"):
                base += "/"
            result.append(
                {
                    "workspace": row.workspace_id,
                    "channel": row.channel_id,
                    "kind": row.kind,
                    "ts": row.ts,
                    "permalink": f"{base}archives/{row.channel_id}/p{row.ts.replace('.', '')}"
                    if base
                    else None,
                    "posted_at": row.posted_at.isoformat(),
                    "requester": row.requester,
                    "target_seconds": row.target_seconds,
                    "first_response_at": _iso(row.first_response_at),
                    "first_responder": row.first_responder,
                    "first_response_via": row.first_response_via,
                    "first_response_seconds": row.first_response_seconds,
                    "within_target": bool(probe.within_target),
                    "breached": bool(probe.breached),
                    "closed_at": _iso(row.closed_at),
                    "closed_by": row.closed_by,
                    "close_seconds": row.close_seconds,
                    "occurrences": row.occurrences,
                    "text": row.text,
                }
            )
    return result


def format_rows(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    return buffer.getvalue()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
