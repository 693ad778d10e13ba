"""The tables: watched channels, requests and alerts, and the inbox, timers and outbox.

Every row is scoped by ``workspace_id`` (a Slack team id or a Teams tenant id) so one
database can serve many workspaces without one seeing another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Workspace(Base):
    """A Slack workspace (or Teams tenant) Firstline has seen, with what links need."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), default="slack")
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    bot_user_id: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WatchedChannel(Base):
    """A channel Firstline measures: a requests channel or an alerts channel."""

    __tablename__ = "watched_channels"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", name="uq_watched_channel"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "requests" | "alerts"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    target_seconds: Mapped[int] = mapped_column(Integer, default=300)
    responders_mode: Mapped[str] = mapped_column(String(16), default="anyone")
    responders: Mapped[list[str]] = mapped_column(JSON, default=list)
    hours: Mapped[str] = mapped_column(String(200), default="always")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    holidays: Mapped[str | None] = mapped_column(String(16), nullable=True)
    escalate: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ack_emojis: Mapped[list[str]] = mapped_column(JSON, default=list)
    done_emojis: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Request quality (docs/measurement.md): noise=False keeps the plain request rules.
    noise: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    noise_added: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    noise_removed: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    burst_seconds: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    next_target_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolve_target_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    waiting: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # None: the default
    offhours: Mapped[str] = mapped_column(String(16), default="wait", server_default="wait")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Request(Base):
    """A request in a requests channel or an alert in an alerts channel, and its measurement."""

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_id", "ts", name="uq_request_message"),
        Index("ix_requests_open", "workspace_id", "channel_id", "closed_at", "first_response_at"),
        Index("ix_requests_posted", "posted_at"),
        # Follow-ups and mentions look up a channel's open requests by requester.
        Index("ix_requests_requester", "workspace_id", "channel_id", "requester"),
        # Alert repeats are found by fingerprint.
        Index("ix_requests_fingerprint", "workspace_id", "channel_id", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "requests" | "alerts"
    ts: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requester: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str | None] = mapped_column(String(200), nullable=True)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    last_occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    target_seconds: Mapped[int] = mapped_column(Integer)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_responder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_response_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    first_response_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    close_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # After the first response (bot/quality/turns.py): the running next-response clock,
    # waiting on the requester, and the resolution target pushed back by the time waited.
    next_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    waited_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    resolve_target_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RequestMessage(Base):
    """Another message that belongs to a request: a repeat of an alert.

    Reactions and replies on a repeat acknowledge the alert it repeats.
    """

    __tablename__ = "request_messages"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", "ts", name="uq_request_msg"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))


class InboxEntry(Base):
    """An event already processed, keyed on the platform's event id: retries do nothing."""

    __tablename__ = "inbox"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Timer(Base):
    """A business timer (an escalation step, a reminder) due at an instant.

    ``fired_at`` is set in the same transaction as the step's effects, so a timer
    fires exactly once; the unique (subject, step) key keeps it from being scheduled twice.
    """

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("subject", "step", name="uq_timer_subject_step"),
        # The sweep's claim order over pending timers only (migration 0012).
        Index(
            "ix_timers_pending",
            "due_at",
            "id",
            postgresql_where=text("fired_at IS NULL"),
            sqlite_where=text("fired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(100))  # e.g. "request:42"
    step: Mapped[str] = mapped_column(String(32))  # e.g. "nudge", "breach", "second_line"
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    late_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)


class OutboxMessage(Base):
    """Something to say on a chat platform, written with the state change that caused it.

    Delivered in id order per conversation (``order_key``: a thread, a message and its
    edits, a DM; none for rows that stand alone); ``key`` names a message so later rows
    can edit it (``ref_key``) once the platform has given it an id (``platform_ts``).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "sent_at", "destination", "id"),
        Index("ix_outbox_order", "sent_at", "order_key", "id"),
        Index("ix_outbox_key", "key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16), default="slack")
    destination: Mapped[str] = mapped_column(String(64))  # channel id, or user id for a DM
    op: Mapped[str] = mapped_column(String(16))  # "post" | "update" | "dm"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    key: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    ref_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    order_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    platform_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    platform_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Incident(Base):
    """An incident: its channel, severity, living ticket and lifecycle."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source_channel", "source_ts", name="uq_incident_source"),
        Index("ix_incidents_channel", "workspace_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_name: Mapped[str] = mapped_column(String(80))
    announce_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(8), default="sev3")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    declared_by: Mapped[str] = mapped_column(String(64))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    source_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    sections: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    last_update_at: Mapped[datetime] = mapped_column(UTCDateTime())
    nudge_seq: Mapped[int] = mapped_column(Integer, default=0)


class RoleAssignment(Base):
    """Who held an incident role, from when to when, and how they got it."""

    __tablename__ = "incident_roles"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(64))
    assumed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    via: Mapped[str] = mapped_column(String(16), default="command")  # command | handoff | declare


class Handoff(Base):
    """A proposed change of role holder; nothing changes until the taker confirms."""

    __tablename__ = "incident_handoffs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    giver: Mapped[str | None] = mapped_column(String(64), nullable=True)
    taker: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|replaced


class TimelineEntry(Base):
    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_timeline_incident", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    who: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ts: Mapped[str | None] = mapped_column(String(32), nullable=True)


class IncidentAction(Base):
    __tablename__ = "incident_actions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IncidentWhy(Base):
    __tablename__ = "incident_whys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class IncidentMessage(Base):
    """Messages said in an incident channel: the pushpin's text and the latest updates."""

    __tablename__ = "incident_messages"
    __table_args__ = (UniqueConstraint("incident_id", "ts", name="uq_incident_message"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    ts: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")


class RotaTeam(Base):
    """A named support rota, bound to its team channel, with its weekly rhythm."""

    __tablename__ = "rota_teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_rota_team_name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    channel_id: Mapped[str] = mapped_column(String(64))
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    start_rule: Mapped[str] = mapped_column(String(16), default="Wed 09:00")
    pick_rule: Mapped[str] = mapped_column(String(16), default="Mon 17:00")
    holidays: Mapped[str | None] = mapped_column(String(16), nullable=True)
    lead: Mapped[str | None] = mapped_column(String(64), nullable=True)
    group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    api_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RotaMember(Base):
    __tablename__ = "rota_members"
    __table_args__ = (UniqueConstraint("team_id", "user", name="uq_rota_member"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("rota_teams.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(64))
    prod: Mapped[bool] = mapped_column(Boolean, default=False)
    new: Mapped[bool] = mapped_column(Boolean, default=False)
    observed: Mapped[bool] = mapped_column(Boolean, default=False)
    days: Mapped[str] = mapped_column(String(40), default="Mon-Fri")
    tz: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: the team's zone
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RotaLeave(Base):
    __tablename__ = "rota_leave"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("rota_teams.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(64))
    first_day: Mapped[str] = mapped_column(String(10))  # ISO date, inclusive
    last_day: Mapped[str] = mapped_column(String(10))  # ISO date, inclusive
    reason: Mapped[str] = mapped_column(String(200), default="")


class SupportWeek(Base):
    """One support week: the pair, fallback and observer, and how they were chosen."""

    __tablename__ = "support_weeks"
    __table_args__ = (UniqueConstraint("team_id", "starts_at", name="uq_support_week"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("rota_teams.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first: Mapped[str] = mapped_column(String(64))
    second: Mapped[str] = mapped_column(String(64))
    fallback: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fallback_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    observer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(
        String(16), default="suggested"
    )  # suggested|accepted|automatic
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handoff_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    handoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RotaSwap(Base):
    """One person swapping out of a support week for another; both must confirm."""

    __tablename__ = "rota_swaps"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    week_id: Mapped[int] = mapped_column(ForeignKey("support_weeks.id", ondelete="CASCADE"))
    out_user: Mapped[str] = mapped_column(String(64))
    in_user: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    out_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    in_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|refused


# -- Support operations (issue 6, part B): time off in lieu, triage, FAQ, tickets -------------


class ToilPolicy(Base):
    """Which time-off-in-lieu policy a rota team follows ("a" per call-out, "b" standby)."""

    __tablename__ = "toil_policies"
    __table_args__ = (UniqueConstraint("team_id", name="uq_toil_policy_team"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("rota_teams.id", ondelete="CASCADE"))
    policy: Mapped[str] = mapped_column(String(8))  # "a" | "b" | "off"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutOfHoursWork(Base):
    """A request answered or an alert acknowledged by a rota member outside the hours."""

    __tablename__ = "out_of_hours_work"
    __table_args__ = (
        UniqueConstraint("request_id", name="uq_out_of_hours_request"),
        Index("ix_out_of_hours_user", "team_id", "user", "received_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int] = mapped_column(ForeignKey("rota_teams.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "requests" | "alerts"
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    woke: Mapped[bool] = mapped_column(Boolean, default=False)


class RequestCategory(Base):
    """The triage category of a request, set with the "Triage" message shortcut."""

    __tablename__ = "request_categories"
    __table_args__ = (UniqueConstraint("request_id", name="uq_request_category"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReplyTemplate(Base):
    """A channel's own reply for a triage category; ``text`` empty means "post nothing"."""

    __tablename__ = "reply_templates"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_id", "category", name="uq_reply_template"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FaqSettings(Base):
    """Whether a channel gets suggested answers, and how similar a request must be."""

    __tablename__ = "faq_settings"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", name="uq_faq_settings"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    threshold: Mapped[int] = mapped_column(Integer, default=85)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FaqEntry(Base):
    """A common request and its answer, numbered per channel (numbers are never reused)."""

    __tablename__ = "faq_entries"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_id", "number", name="uq_faq_entry_number"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    hits: Mapped[int] = mapped_column(Integer, default=0)
    last_hit_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)


class FaqMatch(Base):
    """What the FAQ made of a new request: the entry it matched, or none (and any prompt)."""

    __tablename__ = "faq_matches"
    __table_args__ = (
        UniqueConstraint("request_id", name="uq_faq_match_request"),
        Index("ix_faq_matches_channel", "workspace_id", "channel_id", "posted_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="SET NULL"), nullable=True
    )
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    prompted: Mapped[bool] = mapped_column(Boolean, default=False)


class Ticket(Base):
    """A ticket asked for with the ``ticket`` reaction: at most one live one per request."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_request", "request_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|created|failed
    key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    retry_reported: Mapped[bool] = mapped_column(Boolean, default=False)


# --- Microsoft Teams (issue 5) --------------------------------------------------------------
# Teams ids (tenant GUIDs, "19:…@thread.tacv2", "29:…") are long and shaped unlike Slack's;
# the core sees short neutral ids ("T…", "C…", "W…") and these tables map them back.


class TeamsConversation(Base):
    """Where a neutral channel id posts in Teams: the stored conversation reference."""

    __tablename__ = "teams_conversations"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", name="uq_teams_conversation"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))  # neutral: C… channel/thread, D… personal
    kind: Mapped[str] = mapped_column(String(16))  # channel | thread | personal
    conversation_id: Mapped[str] = mapped_column(String(400))
    tenant_id: Mapped[str] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(String(400))
    team_id: Mapped[str | None] = mapped_column(String(400), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    bot_id: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamsPerson(Base):
    """A Teams user behind a neutral user id, with the name mentions need."""

    __tablename__ = "teams_people"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_teams_person"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))  # neutral: W…
    teams_id: Mapped[str] = mapped_column(String(400))
    aad_object_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Many workspaces (issue 7): Slack's OAuth installation and state stores ---------------
#
# slack_sdk's AsyncSQLAlchemyInstallationStore and AsyncSQLAlchemyOAuthStateStore read and
# write these tables; they are declared here (column for column as slack_sdk builds them)
# so that our Alembic migration creates them, never ``create_all`` at runtime. storage/
# does not import slack_sdk: tests/unit/test_installations.py checks the two agree.
# Timestamps here are naive UTC, as slack_sdk writes them.


class SlackInstallation(Base):
    """One OAuth install of Firstline into a Slack workspace (slack_sdk's schema)."""

    __tablename__ = "slack_installations"
    __table_args__ = (
        Index(
            "slack_installations_idx",
            "client_id",
            "enterprise_id",
            "team_id",
            "user_id",
            "installed_at",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    enterprise_url: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    team_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_scopes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    bot_refresh_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user_id: Mapped[str] = mapped_column(String(32))
    user_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    user_scopes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    user_refresh_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    user_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    incoming_webhook_url: Mapped[str | None] = mapped_column(String(200), nullable=True)
    incoming_webhook_channel: Mapped[str | None] = mapped_column(String(200), nullable=True)
    incoming_webhook_channel_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    incoming_webhook_configuration_url: Mapped[str | None] = mapped_column(
        String(200), nullable=True
    )
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    token_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    installed_at: Mapped[datetime] = mapped_column(DateTime)


class SlackBot(Base):
    """The bot token of the latest install into a workspace (slack_sdk's schema)."""

    __tablename__ = "slack_bots"
    __table_args__ = (
        Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    team_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_scopes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    bot_refresh_token: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime] = mapped_column(DateTime)


class SlackOAuthState(Base):
    """A pending install: the OAuth ``state`` handed to Slack, valid until ``expire_at``."""

    __tablename__ = "slack_oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(200))
    expire_at: Mapped[datetime] = mapped_column(DateTime)


# -- Reports: SLO objectives and App Home viewers (issue 6, part A) -------------------------


class ServiceObjective(Base):
    """A channel's service level objective for first responses, and what was said about it.

    ``warned_at`` and ``spent_at`` remember the last burn-rate warning and "budget spent"
    notice, so each is posted at most once per window (the outbox keys make it exact).
    """

    __tablename__ = "service_objectives"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", name="uq_service_objective"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    objective: Mapped[float] = mapped_column(Float, default=0.95)
    window_days: Mapped[int] = mapped_column(Integer, default=28)
    set_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class HomeViewer(Base):
    """Someone who opened Firstline's Home tab: republished when what it shows changes."""

    __tablename__ = "home_viewers"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_home_viewer"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SetAsidePost(Base):
    """A top-level post that would have opened a request but did not, and why.

    ``reason`` is a noise kind ("thanks", "acknowledgement", "greeting", "solved",
    "custom", "emoji") or "burst" (joined the request ``request_id`` by the same requester).
    """

    __tablename__ = "set_aside_posts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_id", "ts", name="uq_set_aside_post"),
        Index("ix_set_aside_posted", "workspace_id", "channel_id", "posted_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text, default="")


class NextResponse(Base):
    """One measured next response: a requester's follow-up after the first response, and
    the team's answer to it (business time, without time spent waiting on the requester)."""

    __tablename__ = "next_responses"
    __table_args__ = (Index("ix_next_responses_request", "request_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responder: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column(Float)
    target_seconds: Mapped[int] = mapped_column(Integer)


class HistoryThread(Base):
    """A request of a requests channel with its answering replies: what answers from history
    search. ``forgotten`` keeps the row (so later replies do not bring it back) without text."""

    __tablename__ = "history_threads"
    __table_args__ = (
        UniqueConstraint("request_id", name="uq_history_thread_request"),
        Index("ix_history_threads_channel", "workspace_id", "channel_id", "forgotten"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(64), default="")  # first reply's author
    answer: Mapped[str] = mapped_column(Text, default="")  # the first reply, for the snippet
    replies: Mapped[int] = mapped_column(Integer, default=0)
    last_reply_at: Mapped[datetime] = mapped_column(UTCDateTime())
    forgotten: Mapped[bool] = mapped_column(Boolean, default=False)


class HistoryReply(Base):
    """One reply in a history thread by someone other than the requester."""

    __tablename__ = "history_replies"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_id", "ts", name="uq_history_reply_message"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("history_threads.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SuggestionSettings(Base):
    """Whether a channel gets answers from its history, and how close a match must be."""

    __tablename__ = "suggestion_settings"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel_id", name="uq_suggestion_settings"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    threshold: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Suggestion(Base):
    """A past thread suggested for a new request (at most one per request), and what people
    said of it. A "not_related" verdict keeps the pair from ever being suggested again."""

    __tablename__ = "suggestions"
    __table_args__ = (
        UniqueConstraint("request_id", name="uq_suggestion_request"),
        Index("ix_suggestions_channel", "workspace_id", "channel_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("history_threads.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text, default="")  # the new request's words
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    verdict_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
