"""The weekly report's figures for one watched channel, read from the database.

    report = await weekly_report(session, workspace_id="T1", channel_id="C1", kind="requests",
                                 tz="Europe/Berlin", week=IsoWeek(2026, 48), now=clock.now())

Everything uses the rules of ``bot.stats`` (the same percentile, the same breach rule), so
the report, `/support stats` and `firstline stats` never disagree. Days and the 7x24
heatmap are in the channel's time zone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.quality.figures import Clock, quality_figures
from bot.reports.weeks import IsoWeek
from bot.stats import Figures, compute_stats
from storage.engine import Database
from storage.models import Incident, OutboxMessage, Request

TOP_RECURRING = 5
TOP_BREACHES = 20
_MARKUP = re.compile(r"<[^>]*>|https?://\S+")
_NOISE = re.compile(r"[^a-z0-9äöüßéèàç ]+")
_NUMBER = re.compile(r"\b\d+\b")
_ESCALATED = re.compile(r"^(<[@!][^>]+>):")
_PERSON = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_STOP = (
    "a an and are as at be but by can could do does for from have hello hey hi how i in is it "
    "its me my no not of on or our please pls so that the there this to we what when where "
    "which who why will with would you your"
)
STOP_WORDS = frozenset(_STOP.split())


def recurring_key(text: str) -> str:
    """A request's text reduced so rewordings of one question group together:
    lower case, no mentions, links or numbers, no punctuation or common words."""
    flat = _NUMBER.sub(" ", _NOISE.sub(" ", _MARKUP.sub(" ", text.lower())))
    words = [w for w in flat.split() if w not in STOP_WORDS and len(w) > 1]
    return " ".join(words[:8])


@dataclass(frozen=True)
class Breach:
    ts: str
    requester: str
    target_seconds: int
    first_response_seconds: float | None
    responder: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "requester": self.requester,
            "target_seconds": self.target_seconds,
            "first_response_seconds": self.first_response_seconds,
            "responder": self.responder,
        }


@dataclass
class WeeklyReport:
    workspace_id: str
    channel_id: str
    kind: str
    tz: str
    week: IsoWeek
    since: datetime
    until: datetime
    now: datetime
    figures: dict[str, Any]
    previous: dict[str, Any]
    per_day: list[tuple[str, int]]
    heatmap: list[list[int]]
    breaches: list[Breach]
    breach_count: int
    escalations: list[tuple[str, int]]
    recurring: list[tuple[str, int]]
    incidents: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    # "next_response" / "resolution": present only when the channel sets that target.
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    slo: dict[str, Any] | None = None
    base_url: str = ""
    channel_label: str = ""  # "#support" when the platform says, else the channel id
    names: dict[str, str] = field(default_factory=dict)  # user id -> name, for Markdown
    charts: dict[str, bytes] = field(default_factory=dict)

    def people(self) -> set[str]:
        """Everyone the report names: requesters and responders of breaches, escalations."""
        found = {b.requester for b in self.breaches} | {
            b.responder for b in self.breaches if b.responder
        }
        found |= {m.group(1) for who, _ in self.escalations if (m := _PERSON.match(who))}
        found |= {b["requester"] for clock in self.quality.values() for b in clock["breaches"]}
        return found

    @property
    def complete(self) -> bool:
        return self.until <= self.now

    def deltas(self) -> dict[str, Any]:
        """This week minus the previous one (None when either has no figure)."""
        now_fr, prev_fr = (
            self.figures["first_response_seconds"],
            self.previous["first_response_seconds"],
        )

        def minus(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else round(a - b, 4)

        return {
            "requests": self.figures["requests"] - self.previous["requests"],
            "p50": minus(now_fr["p50"], prev_fr["p50"]),
            "p90": minus(now_fr["p90"], prev_fr["p90"]),
            "max": minus(now_fr["max"], prev_fr["max"]),
            "within_target_ratio": minus(
                self.figures["within_target_ratio"], self.previous["within_target_ratio"]
            ),
        }

    def busiest(self) -> tuple[int, int, int] | None:
        """(weekday 0=Monday, hour, count) of the heatmap's busiest cell."""
        best = max(
            ((d, h, n) for d, row in enumerate(self.heatmap) for h, n in enumerate(row)),
            key=lambda cell: (cell[2], -cell[0], -cell[1]),
        )
        return best if best[2] else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace_id,
            "channel": self.channel_id,
            "kind": self.kind,
            "tz": self.tz,
            "week": str(self.week),
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "complete": self.complete,
            "figures": self.figures,
            "previous_week": self.previous,
            "delta": self.deltas(),
            "requests_per_day": [{"date": d, "requests": n} for d, n in self.per_day],
            "heatmap": self.heatmap,
            "busiest": self.busiest(),
            "breaches": [b.to_dict() for b in self.breaches],
            "breach_count": self.breach_count,
            "escalations": [{"who": who, "times": n} for who, n in self.escalations],
            "recurring": [{"request": text, "times": n} for text, n in self.recurring],
            "incidents": self.incidents,
            "alerts": self.alerts,
            "quality": self.quality,
            "slo": self.slo,
        }


async def weekly_report(
    session: AsyncSession,
    *,
    db: Database,
    workspace_id: str,
    channel_id: str,
    kind: str,
    tz: str,
    week: IsoWeek,
    now: datetime,
    next_target: int | None = None,
    resolve_target: int | None = None,
) -> WeeklyReport:
    """``next_target``/``resolve_target`` are the channel's `next=`/`resolve=` targets: with
    one set, the report has that clock's figures (``WeeklyReport.quality``)."""
    since, until = week.bounds(tz)
    # Breaches are judged as of now: a request left unanswered over the week's end counts.
    horizon = now
    this = await compute_stats(
        db,
        now=horizon,
        workspace_id=workspace_id,
        channel_id=channel_id,
        since=since,
        until=until,
        session=session,
    )
    before_since, before_until = week.previous().bounds(tz)
    before = await compute_stats(
        db,
        now=now,
        workspace_id=workspace_id,
        channel_id=channel_id,
        since=before_since,
        until=before_until,
        session=session,
    )
    rows = (
        await session.scalars(
            select(Request)
            .where(
                Request.workspace_id == workspace_id,
                Request.channel_id == channel_id,
                Request.deleted.is_(False),
                Request.posted_at >= since,
                Request.posted_at < until,
            )
            .order_by(Request.posted_at)
        )
    ).all()
    zone = ZoneInfo(tz)
    days = [d.isoformat() for d in week.days()]
    per_day = Counter[str]()
    heatmap = [[0] * 24 for _ in range(7)]
    breaches: list[Breach] = []
    recurring = Counter[str]()
    labels: dict[str, str] = {}
    for row in rows:
        local = row.posted_at.astimezone(zone)
        per_day[local.date().isoformat()] += 1
        heatmap[local.weekday()][local.hour] += 1
        if _breached(row, horizon):
            breaches.append(
                Breach(
                    ts=row.ts,
                    requester=row.requester,
                    target_seconds=row.target_seconds,
                    first_response_seconds=row.first_response_seconds,
                    responder=row.first_responder,
                )
            )
        if kind == "alerts":
            key = row.fingerprint or recurring_key(row.text)
            recurring[key] += row.occurrences
        else:
            key = recurring_key(row.text)
            recurring[key] += 1
        labels.setdefault(key, " ".join(row.text.split())[:80])
    top = [
        (labels[key], n)
        for key, n in sorted(recurring.items(), key=lambda kv: (-kv[1], labels[kv[0]]))
        if key and n >= 2
    ][:TOP_RECURRING]
    alerts: list[dict[str, Any]] = []
    if kind == "requests":
        # The workspace's alerts channels, so one report shows acknowledgement times too.
        everything = await compute_stats(
            db, now=now, workspace_id=workspace_id, since=since, until=until, session=session
        )
        alerts = [
            {"channel": channel, **figures.to_dict()}
            for (_, channel, channel_kind), figures in sorted(everything.channels.items())
            if channel_kind == "alerts"
        ]
    quality: dict[str, dict[str, Any]] = {}
    if kind == "requests" and (next_target or resolve_target):
        this_q, before_q = [
            await quality_figures(
                db,
                now=now,
                workspace_id=workspace_id,
                channel_id=channel_id,
                since=start,
                until=end,
                session=session,
            )
            for start, end in ((since, until), (before_since, before_until))
        ]
        for name, target, clock, earlier in (
            ("next_response", next_target, this_q.next_response, before_q.next_response),
            ("resolution", resolve_target, this_q.resolution, before_q.resolution),
        ):
            if target:
                quality[name] = _clock_figures(clock, earlier, target=target)
    return WeeklyReport(
        workspace_id=workspace_id,
        channel_id=channel_id,
        kind=kind,
        tz=tz,
        week=week,
        since=since,
        until=until,
        now=now,
        figures=this.total.to_dict(),
        previous=before.total.to_dict(),
        per_day=[(d, per_day[d]) for d in days],
        heatmap=heatmap,
        breaches=breaches[:TOP_BREACHES],
        breach_count=len(breaches),
        escalations=await _escalations(session, [r.id for r in rows]),
        recurring=top,
        incidents=await _incidents(session, workspace_id, since, until),
        alerts=alerts,
        quality=quality,
    )


def _clock_figures(clock: Clock, earlier: Clock, *, target: int) -> dict[str, Any]:
    """A next-response or resolution clock's week, as the report shows it: the figures of
    ``bot.quality.figures`` with the share within target, the change against the week
    before (``previous``) and the breaches (the first ``TOP_BREACHES``)."""

    def figures(one: Clock) -> dict[str, Any]:
        data = one.to_dict()
        decided = one.within + one.breached
        data["within_target_ratio"] = round(one.within / decided, 4) if decided else None
        return data

    return {
        "target_seconds": target,
        **figures(clock),
        "previous": figures(earlier),
        "breaches": [b.to_dict() for b in clock.missed[:TOP_BREACHES]],
        "breach_count": len(clock.missed),
    }


def _breached(row: Request, horizon: datetime) -> bool:
    """The rule of ``bot.stats.Figures.add``, for one request."""
    probe = Figures()
    probe.add(row, horizon)
    return probe.breached == 1


async def _escalations(session: AsyncSession, request_ids: list[int]) -> list[tuple[str, int]]:
    """Who the second line pulled in, and how often: the escalation pings that were sent."""
    who = Counter[str]()
    for start in range(0, len(request_ids), 500):
        keys = [f"second_line:{i}" for i in request_ids[start : start + 500]]
        rows = (
            await session.execute(
                select(OutboxMessage.op, OutboxMessage.destination, OutboxMessage.payload).where(
                    OutboxMessage.key.in_(keys), OutboxMessage.failed.is_(False)
                )
            )
        ).all()
        for op, destination, payload in rows:
            if op == "dm":
                who[f"<@{destination}>"] += 1
            else:
                match = _ESCALATED.match(str((payload or {}).get("text") or ""))
                if match:
                    who[match.group(1)] += 1
    return sorted(who.items(), key=lambda kv: (-kv[1], kv[0]))


async def _incidents(
    session: AsyncSession, workspace_id: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    rows = (
        await session.scalars(
            select(Incident)
            .where(
                Incident.workspace_id == workspace_id,
                Incident.declared_at >= since,
                Incident.declared_at < until,
            )
            .order_by(Incident.declared_at)
        )
    ).all()
    return [
        {
            "id": row.id,
            "title": row.title,
            "severity": row.severity,
            "status": row.status,
            "channel": row.channel_id,
            "declared_at": row.declared_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
            "duration_seconds": (row.resolved_at - row.declared_at).total_seconds()
            if row.resolved_at
            else None,
        }
        for row in rows
    ]
