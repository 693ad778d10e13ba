"""Rebuild the requests of the labelled suggestion set from the raw Clojurians history.

    python tests/eval/build_clojurians_set.py ../shared/datasets/clojurians-2018-02 > requests.json

A request is what the desk would open for a top-level message: a person's top-level post
with a question mark, at least 40 characters, not within 15 minutes of their previous
top-level post (a follow-up). Requests from 5 February on are the new ones that were
labelled by hand (LABELS in the committed set); earlier ones are history only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CHANNELS = {"C053AK3F9": "beginners", "C03S1L9DN": "clojurescript", "C03RZMDSH": "datomic"}
FOLLOW_UP_SECONDS = 900
NEW_FROM = 1517788800.0  # 2018-02-05 00:00 UTC


def requests(dataset: Path) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {c: [] for c in CHANNELS}
    last: dict[tuple[str, str], float] = {}
    for path in sorted((dataset / "logs").glob("*.txt")):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            channel, user = event.get("channel"), event.get("user")
            if channel not in CHANNELS or event.get("subtype") or not user:
                continue
            if event.get("thread_ts") and event["thread_ts"] != event["ts"]:
                continue
            ts, text = float(event["ts"]), str(event.get("text") or "")
            previous = last.get((channel, user))
            last[(channel, user)] = ts
            if previous is not None and ts - previous < FOLLOW_UP_SECONDS:
                continue
            if "?" not in text or len(text) < 40:
                continue
            found[channel].append(
                {"ts": event["ts"], "user": user, "text": text, "new": ts >= NEW_FROM}
            )
    return found


if __name__ == "__main__":
    json.dump(requests(Path(sys.argv[1])), sys.stdout, indent=1, ensure_ascii=False)
