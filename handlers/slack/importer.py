"""`firstline import`: Slack history through exactly the live rules, with nothing sent.

Reads raw message events (one JSON object per line, bare or inside an Events API
``event_callback``) or a Slack workspace export (a folder or a .zip with
``channels.json`` and one folder of daily JSON files per channel). Importing the same
history twice changes nothing: every message is keyed like a live event.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.errors import UsageError
from bot.facts import Fact
from handlers.slack.normalise import normalise_message, normalise_reaction
from storage.models import Workspace


@dataclass
class ImportSummary:
    events: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    workspaces: set[str] = field(default_factory=set)
    unlinked: list[str] = field(default_factory=list)  # workspaces with no URL for links

    def describe(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        text = f"Imported {self.events} events: {parts or 'nothing applied'}."
        if self.unlinked:
            text += (
                f"\nNo links for {', '.join(sorted(self.unlinked))}: Firstline does not know "
                "the workspace's address. Run the import again with --workspace-url "
                "https://<your-domain>.slack.com/ (or with SLACK_BOT_TOKEN set) to add them."
            )
        if self.errors:
            shown = "\n  ".join(self.errors[:20])
            more = f"\n  …and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
            text += f"\n{len(self.errors)} lines could not be read:\n  {shown}{more}"
        return text


async def import_paths(
    core: Core,
    paths: list[str],
    *,
    workspace_id: str | None = None,
    workspace_url: tuple[str | None, str] | None = None,
) -> ImportSummary:
    """Import ``paths``; ``workspace_url`` is (team id or None for "the imported one", URL),
    from ``--workspace-url`` or auth.test, so imported requests get permalinks."""
    summary = ImportSummary()
    default_ws = workspace_id
    for raw in paths:
        path = Path(raw)
        if not path.exists():  # noqa: ASYNC240 - a CLI tool reading local files, nothing else runs
            summary.errors.append(f"{raw}: no such file or folder")
            continue
        for _source, event, team in _events(path, summary):
            if team and workspace_id is None:
                default_ws = team  # events without a team belong to the last team seen
            ws = team or default_ws
            if ws is None:
                default_ws = ws = await core.default_workspace(None)
            fact = _fact(event, ws)
            summary.events += 1
            if fact is None:
                summary.outcomes["ignored"] += 1
                continue
            outcome = await core.desk.handle(fact, event_key=_key(ws, event), imported=True)
            summary.outcomes[outcome.what] += 1
            summary.workspaces.add(ws)
    await _remember_urls(core, summary, workspace_url)
    return summary


def check_sources(paths: list[str]) -> None:
    """Refuse, before anything is imported, a path that cannot hold Slack history: missing,
    a file named .zip that is no zip, a zip or folder that is no Slack export and holds no
    event files, an empty folder."""
    for raw in paths:
        problem = _source_problem(Path(raw))
        if problem:
            raise UsageError(
                f"{raw}: {problem}. Give a Slack export (the .zip or its unpacked folder, with "
                "channels.json) or a file of Slack events, one JSON object per line."
            )


def _source_problem(path: Path) -> str | None:
    if not path.exists():
        return "no such file or folder"
    if path.is_dir():
        if (path / "channels.json").exists() or (path / "groups.json").exists():
            return _listing_problem(_DirTree(path))
        if not any(p.suffix in _EVENT_SUFFIXES for p in path.rglob("*") if p.is_file()):
            return "the folder holds no channels.json and no .json, .jsonl or .txt files"
        return None
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return _listing_problem(_ZipTree(archive))
        except zipfile.BadZipFile as error:
            return f"the zip archive cannot be read ({error})"
    if path.suffix.lower() == ".zip":
        return "this is not a zip archive, although it is named .zip"
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.strip():
        return "the file is empty"
    if b"\0" in head:
        return "this is a binary file, not JSON lines"
    return None


def _listing_problem(tree: _DirTree | _ZipTree) -> str | None:
    try:
        listings = [tree.read(name) for name in ("channels.json", "groups.json")]
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"its channel list is not JSON ({error})"
    if all(listing is None for listing in listings):
        return "it holds no channels.json, so it is not a Slack export"
    if not any(isinstance(listing, list) for listing in listings):
        return "its channels.json is not a list of channels"
    return None


_EVENT_SUFFIXES = (".txt", ".jsonl", ".json")


async def _remember_urls(
    core: Core, summary: ImportSummary, given: tuple[str | None, str] | None
) -> None:
    """Links are built from the workspace's URL when read: record it for what was imported."""
    for ws in sorted(summary.workspaces):
        url = None
        if given is not None and given[0] in (None, ws):
            url = given[1] if given[1].endswith("/") else given[1] + "/"
        async with core.db.transaction() as session:
            row = await session.get(Workspace, ws)
            if row is None:
                row = Workspace(id=ws, platform="slack", created_at=core.clock.now())
                session.add(row)
            if url:
                row.url = url
            if not row.url:
                summary.unlinked.append(ws)


async def workspace_address(*, token: str, api_url: str) -> tuple[str, str] | None:
    """(team id, URL) from auth.test with the bot token, or None when Slack can't say."""
    client = AsyncWebClient(token=token, base_url=api_url)
    try:
        auth = await client.auth_test()
    except (SlackApiError, aiohttp.ClientError, OSError):
        return None
    team, url = str(auth.get("team_id") or ""), str(auth.get("url") or "")
    return (team, url) if team and url else None


def _fact(event: dict[str, Any], workspace_id: str) -> Fact | None:
    kind = event.get("type")
    if kind in ("reaction_added", "reaction_removed"):
        return normalise_reaction(event, workspace_id=workspace_id, added=kind == "reaction_added")
    if kind not in (None, "message"):
        return None
    return normalise_message(event, workspace_id=workspace_id)


def _key(workspace_id: str, event: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(event, sort_keys=True).encode()).hexdigest()[:16]
    return f"import:{workspace_id}:{event.get('channel', '')}:{event.get('ts', '')}:{digest}"


def _events(path: Path, summary: ImportSummary) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    if path.is_dir():
        if (path / "channels.json").exists() or (path / "groups.json").exists():
            yield from _export(_DirTree(path), summary)
        else:
            for file in sorted(p for p in path.rglob("*") if p.suffix in _EVENT_SUFFIXES):
                yield from _lines(file, summary)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            yield from _export(_ZipTree(archive), summary)
    else:
        yield from _lines(path, summary)


def _lines(file: Path, summary: ImportSummary) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    with file.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                summary.errors.append(f"{file}:{number}: not JSON ({error.msg})")
                continue
            if not isinstance(data, dict):
                summary.errors.append(f"{file}:{number}: not a JSON object")
                continue
            team = data.get("team_id")
            inner = data.get("event")
            event: dict[str, Any] = inner if isinstance(inner, dict) else data
            team = team or event.get("team") or event.get("source_team")
            yield f"{file}:{number}", event, team if isinstance(team, str) else None


class _DirTree:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, name: str) -> Any:
        target = self.root / name
        return json.loads(target.read_text(encoding="utf-8")) if target.exists() else None

    def days(self, folder: str) -> list[str]:
        base = self.root / folder
        return sorted(f"{folder}/{p.name}" for p in base.glob("*.json")) if base.is_dir() else []


class _ZipTree:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        names = archive.namelist()
        # Some exports wrap everything in one top folder.
        tops = {PurePosixPath(n).parts[0] for n in names if "/" in n}
        self.prefix = ""
        if "channels.json" not in names and len(tops) == 1:
            self.prefix = next(iter(tops)) + "/"
        self.names = set(names)

    def read(self, name: str) -> Any:
        full = self.prefix + name
        return json.loads(self.archive.read(full)) if full in self.names else None

    def days(self, folder: str) -> list[str]:
        start = f"{self.prefix}{folder}/"
        return sorted(
            n[len(self.prefix) :] for n in self.names if n.startswith(start) and n.endswith(".json")
        )


def _export(
    tree: _DirTree | _ZipTree, summary: ImportSummary
) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    channels: list[dict[str, Any]] = []
    for listing in ("channels.json", "groups.json"):
        data = tree.read(listing)
        if isinstance(data, list):
            channels.extend(
                c for c in data if isinstance(c, dict) and c.get("id") and c.get("name")
            )
    for channel in channels:
        for day in tree.days(str(channel["name"])):
            try:
                messages = tree.read(day)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                summary.errors.append(f"{day}: not JSON ({error})")
                continue
            if not isinstance(messages, list):
                summary.errors.append(f"{day}: not a list of messages")
                continue
            ordered = sorted(
                (m for m in messages if isinstance(m, dict)), key=lambda m: float(m.get("ts") or 0)
            )
            for message in ordered:
                message.setdefault("channel", channel["id"])
                team = message.get("team") or message.get("source_team")
                yield day, message, team if isinstance(team, str) else None
