"""The Teams app package: ``manifest.json`` and two icons, zipped for upload.

    firstline teams-package --out firstline-teams.zip      # uses MICROSOFT_APP_ID

The manifest asks for the bot in the ``team`` and ``personal`` scopes and for the
resource-specific permission ``ChannelMessage.Read.Group``, so every channel message
arrives (not only those that @mention Firstline). The icons are drawn here, in pure
Python (no image library, nothing downloaded): a 192×192 colour icon and a 32×32
white-on-transparent outline icon, as Teams requires.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.errors import ConfigurationError

PLACEHOLDER_APP_ID = "00000000-0000-0000-0000-000000000000"
MANIFEST_VERSION = "1.17"
BRAND = (0x1F, 0x6F, 0xEB)  # the colour icon's background
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

Pixel = tuple[int, int, int, int]


def manifest(*, app_id: str, name: str = "Firstline", host: str = "") -> dict[str, Any]:
    """The manifest for ``app_id`` (the Azure bot's Microsoft App ID)."""
    repository = "https://github.com/firstline-support/firstline"
    website = f"https://{host}" if host else repository
    # Firstline serves /privacy and /terms itself; without a host, the same texts in the docs.
    privacy = f"{website}/privacy" if host else f"{repository}/blob/main/docs/teams.md#privacy"
    terms = f"{website}/terms" if host else f"{repository}/blob/main/docs/teams.md#terms-of-use"
    return {
        "$schema": "https://developer.microsoft.com/en-us/json-schemas/teams/"
        f"v{MANIFEST_VERSION}/MicrosoftTeams.schema.json",
        "manifestVersion": MANIFEST_VERSION,
        "version": "0.1.0",
        "id": app_id,
        "developer": {
            "name": "Firstline",
            "websiteUrl": website,
            "privacyUrl": privacy,
            "termsOfUseUrl": terms,
        },
        "name": {"short": name[:30], "full": f"{name}: first-line support desk"[:100]},
        "description": {
            "short": "First-response times, escalation, support rota and incident handoffs.",
            "full": (
                "Firstline watches your support channel: every top-level post is a request, "
                'a reply in its thread (or the "I\'m on it" button) is the first response. '
                "It nudges and escalates when nobody answers, picks the support pair every "
                "Monday, runs the Wednesday handoff and keeps incident roles clear. Commands: "
                f"@{name} support …, @{name} rota …, @{name} incident …"
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*BRAND),
        "bots": [
            {
                "botId": app_id,
                "scopes": ["team", "personal"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["team", "personal"],
                        "commands": [
                            {"title": "support", "description": "support help|watch|status|stats"},
                            {"title": "rota", "description": "rota help|who|plan|choose|swap"},
                            {"title": "incident", "description": "incident help|declare|handoff"},
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host] if host else [],
        "webApplicationInfo": {"id": app_id, "resource": f"api://botid-{app_id}"},
        "authorization": {
            "permissions": {
                "resourceSpecific": [
                    {"name": "ChannelMessage.Read.Group", "type": "Application"},
                ]
            }
        },
    }


def png(size: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An RGBA PNG, ``pixel(x, y)`` giving each pixel's colour."""
    rows = b"".join(
        b"\x00" + b"".join(struct.pack("4B", *pixel(x, y)) for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _mark(x: float, y: float) -> bool:
    """Firstline's mark on a unit square: a speech bubble with a tick inside."""
    bubble = 0.12 <= x <= 0.88 and 0.14 <= y <= 0.70
    tail = 0.24 <= x <= 0.40 and 0.70 < y <= 0.86 and (x - 0.24) >= (y - 0.70)
    tick = abs(y - (0.40 + (x - 0.30))) < 0.06 and 0.30 <= x <= 0.45
    tick = tick or (abs(y - (0.55 - (x - 0.45) * 0.9)) < 0.06 and 0.45 <= x <= 0.72)
    return (bubble or tail) and not tick


def color_icon() -> bytes:
    size = 192

    def pixel(x: int, y: int) -> Pixel:
        if _mark((x + 0.5) / size, (y + 0.5) / size):
            return (255, 255, 255, 255)
        return (*BRAND, 255)

    return png(size, pixel)


def outline_icon() -> bytes:
    size = 32

    def pixel(x: int, y: int) -> Pixel:
        inside = _mark((x + 0.5) / size, (y + 0.5) / size)
        return (255, 255, 255, 255) if inside else (0, 0, 0, 0)

    return png(size, pixel)


def build(*, out: Path, app_id: str | None, name: str = "Firstline", host: str = "") -> Path:
    """Write the upload zip (manifest.json, color.png, outline.png) to ``out``."""
    if not app_id:
        raise ConfigurationError(
            "Set MICROSOFT_APP_ID (the Azure bot's Microsoft App ID) or pass --app-id; the "
            "package must name the bot Teams will talk to."
        )
    if not _GUID.match(app_id):
        raise ConfigurationError(
            f"MICROSOFT_APP_ID={app_id!r} is not an app id; it looks like "
            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (Azure portal → your bot → Configuration)."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        body = json.dumps(manifest(app_id=app_id, name=name, host=host), indent=2)
        bundle.writestr("manifest.json", body + "\n")
        bundle.writestr("color.png", color_icon())
        bundle.writestr("outline.png", outline_icon())
    return out


def write_template(folder: Path) -> None:
    """Refresh ``teams/`` in the repository: the manifest with a placeholder id, the icons."""
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps(manifest(app_id=PLACEHOLDER_APP_ID), indent=2)
    (folder / "manifest.json").write_text(body + "\n")
    (folder / "color.png").write_bytes(color_icon())
    (folder / "outline.png").write_bytes(outline_icon())


if __name__ == "__main__":
    write_template(Path(__file__).resolve().parents[2] / "teams")
