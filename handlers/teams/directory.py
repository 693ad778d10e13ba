"""Who and where in Teams: neutral ids for tenants, channels and people, and the stored
conversation references proactive posts need.

    workspace = neutral_id("T", tenant_id)          # "T" + 12 base32 characters
    await directory.remember_channel(workspace_id=workspace, reference=ref)

The core only ever sees neutral ids shaped like Slack's ("T…", "C…", "W…"): Teams ids are
long (tenant GUIDs, "19:…@thread.tacv2", "29:…") and the core's mention and channel
markup expects short upper-case ids. Neutral ids are a hash of the Teams id, so the
inbound path needs no lookup; the tables map them back for outbound posts and mentions.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from bot.clock import Clock
from storage.engine import Database
from storage.models import TeamsConversation, TeamsPerson


def neutral_id(prefix: str, teams_id: str) -> str:
    """A short, stable, Slack-shaped id for a Teams id (prefix T, C, D or W)."""
    digest = hashlib.sha256(teams_id.encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:12]


@dataclass(frozen=True)
class Conversation:
    """A stored conversation reference, enough to post proactively."""

    workspace_id: str
    channel_id: str
    kind: str  # channel | thread | personal | reply (a message Firstline posted in a chain)
    conversation_id: str
    tenant_id: str
    service_url: str
    team_id: str | None = None
    name: str = ""
    bot_id: str = ""


@dataclass(frozen=True)
class Person:
    workspace_id: str
    user_id: str
    teams_id: str
    name: str
    aad_object_id: str | None = None


class Directory:
    """Conversation references and people, in the database with a read-through cache."""

    def __init__(self, *, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._conversations: dict[tuple[str, str], Conversation] = {}
        self._by_teams_id: dict[str, Conversation] = {}
        self._people: dict[tuple[str, str], Person] = {}

    async def load(self) -> None:
        async with self._db.reading() as session:
            # Reply-chain rows are many and only an edit needs one: read on demand.
            rows = await session.scalars(
                select(TeamsConversation).where(TeamsConversation.kind != "reply")
            )
            for row in rows.all():
                self._cache_conversation(_conversation(row))
            for person in (await session.scalars(select(TeamsPerson))).all():
                self._cache_person(person)

    def _cache_person(self, row: TeamsPerson) -> None:
        self._people[(row.workspace_id, row.user_id)] = Person(
            row.workspace_id, row.user_id, row.teams_id, row.name, row.aad_object_id
        )

    def _cache_conversation(self, conversation: Conversation) -> None:
        self._conversations[(conversation.workspace_id, conversation.channel_id)] = conversation
        if conversation.kind != "reply":
            self._by_teams_id[conversation.conversation_id] = conversation

    def conversation(self, workspace_id: str, channel_id: str) -> Conversation | None:
        return self._conversations.get((workspace_id, channel_id))

    def by_conversation_id(self, conversation_id: str) -> Conversation | None:
        return self._by_teams_id.get(conversation_id)

    def any_conversation(self, workspace_id: str) -> Conversation | None:
        """A channel conversation of the workspace (its service url and bot id serve all)."""
        return next(
            (
                c
                for (ws, _), c in self._conversations.items()
                if ws == workspace_id and c.kind == "channel"
            ),
            None,
        )

    async def home(self, workspace_id: str) -> Conversation | None:
        """Any channel conversation of the workspace, reading the database on a miss."""
        found = self.any_conversation(workspace_id)
        if found is None:
            await self.load()
            found = self.any_conversation(workspace_id)
        return found

    def person(self, workspace_id: str, user_id: str) -> Person | None:
        return self._people.get((workspace_id, user_id))

    def channel_name(self, workspace_id: str, channel_id: str) -> str | None:
        found = self._conversations.get((workspace_id, channel_id))
        return found.name or None if found else None

    async def ensure(
        self, workspace_id: str, *, channels: Iterable[str] = (), users: Iterable[str] = ()
    ) -> None:
        """Another replica may have learned what this one has not: read the missing rows
        (one indexed query per table, only on a miss)."""
        want_channels = {c for c in channels if (workspace_id, c) not in self._conversations}
        want_users = {u for u in users if (workspace_id, u) not in self._people}
        if not want_channels and not want_users:
            return
        async with self._db.reading() as session:
            if want_channels:
                rows = await session.scalars(
                    select(TeamsConversation).where(
                        TeamsConversation.workspace_id == workspace_id,
                        TeamsConversation.channel_id.in_(want_channels),
                    )
                )
                for row in rows.all():
                    self._cache_conversation(_conversation(row))
            if want_users:
                people = await session.scalars(
                    select(TeamsPerson).where(
                        TeamsPerson.workspace_id == workspace_id,
                        TeamsPerson.user_id.in_(want_users),
                    )
                )
                for person in people.all():
                    self._cache_person(person)

    async def thread(self, conversation_id: str) -> Conversation | None:
        """A reply chain used as a channel (an incident's thread), by its conversation id."""
        known = self._by_teams_id.get(conversation_id)
        if known is not None or ";messageid=" not in conversation_id:
            return known if known is not None and known.kind == "thread" else None
        async with self._db.reading() as session:
            row = await session.scalar(
                select(TeamsConversation).where(
                    TeamsConversation.conversation_id == conversation_id,
                    TeamsConversation.kind == "thread",
                )
            )
        if row is None:
            return None
        found = _conversation(row)
        self._cache_conversation(found)
        return found

    async def remember_conversation(self, conversation: Conversation) -> None:
        """Store (or refresh) a reference; a write only when something changed."""
        key = (conversation.workspace_id, conversation.channel_id)
        known = self._conversations.get(key)
        if known is not None and (known == conversation or not conversation.service_url):
            return
        if known is not None and not conversation.name and known.name:
            conversation = _with_name(conversation, known.name)
            if known == conversation:
                return
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(TeamsConversation).where(
                    TeamsConversation.workspace_id == conversation.workspace_id,
                    TeamsConversation.channel_id == conversation.channel_id,
                )
            )
            if row is None:
                row = TeamsConversation(
                    workspace_id=conversation.workspace_id, channel_id=conversation.channel_id
                )
                session.add(row)
            row.kind = conversation.kind
            row.conversation_id = conversation.conversation_id
            row.tenant_id = conversation.tenant_id
            row.service_url = conversation.service_url
            row.team_id = conversation.team_id
            row.name = conversation.name
            row.bot_id = conversation.bot_id
            row.updated_at = self._clock.now()
        self._cache_conversation(conversation)

    async def remember_reply(self, where: Conversation, *, message_id: str, root: str) -> None:
        """Firstline posted ``message_id`` in the reply chain of ``root`` in channel ``where``:
        an edit of it must address that chain (``19:…;messageid=<root>``), not the message."""
        await self.remember_conversation(
            Conversation(
                workspace_id=where.workspace_id,
                channel_id=_reply_key(where.channel_id, message_id),
                kind="reply",
                conversation_id=f"{where.conversation_id};messageid={root}",
                tenant_id=where.tenant_id,
                service_url=where.service_url,
                team_id=where.team_id,
                bot_id=where.bot_id,
            )
        )

    async def chain_of(self, where: Conversation, *, message_id: str) -> str:
        """The conversation id that addresses ``message_id`` in channel ``where``."""
        key = _reply_key(where.channel_id, message_id)
        await self.ensure(where.workspace_id, channels=[key])
        found = self._conversations.get((where.workspace_id, key))
        if found is not None:
            return found.conversation_id
        return f"{where.conversation_id};messageid={message_id}"  # a top-level post

    async def remember_person(self, person: Person) -> None:
        key = (person.workspace_id, person.user_id)
        known = self._people.get(key)
        if known is not None and (known == person or (not person.name and known.name)):
            return
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(TeamsPerson).where(
                    TeamsPerson.workspace_id == person.workspace_id,
                    TeamsPerson.user_id == person.user_id,
                )
            )
            if row is None:
                row = TeamsPerson(workspace_id=person.workspace_id, user_id=person.user_id)
                session.add(row)
            row.teams_id = person.teams_id
            row.name = person.name
            row.aad_object_id = person.aad_object_id
            row.updated_at = self._clock.now()
        self._people[key] = person


def _reply_key(channel_id: str, message_id: str) -> str:
    return neutral_id("M", f"{channel_id}:{message_id}")


def _conversation(row: TeamsConversation) -> Conversation:
    return Conversation(
        workspace_id=row.workspace_id,
        channel_id=row.channel_id,
        kind=row.kind,
        conversation_id=row.conversation_id,
        tenant_id=row.tenant_id,
        service_url=row.service_url,
        team_id=row.team_id,
        name=row.name,
        bot_id=row.bot_id,
    )


def _with_name(conversation: Conversation, name: str) -> Conversation:
    return Conversation(
        workspace_id=conversation.workspace_id,
        channel_id=conversation.channel_id,
        kind=conversation.kind,
        conversation_id=conversation.conversation_id,
        tenant_id=conversation.tenant_id,
        service_url=conversation.service_url,
        team_id=conversation.team_id,
        name=name,
        bot_id=conversation.bot_id,
    )
