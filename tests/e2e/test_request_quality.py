"""Request quality end to end: noise, bursts, next response, waiting on the requester and
resolution, through the signed endpoint on the fake clock (docs/measurement.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.quality.figures import quality_figures
from bot.stats import compute_stats
from storage.models import SetAsidePost
from tests.e2e.test_demo_and_cli import run_cli
from tests.harness import ANNA, BEN, LEAD, OPS, SUPPORT, SlackWorld

OPS2 = "UOPS2"


async def watch(world: SlackWorld, options: str = "") -> str:
    text = await world.command(f"watch requests target=5m escalate=<@{LEAD}|lead> {options}")
    assert "Watching" in text, text
    await world.command(f"responders <@{ANNA}|anna> <@{BEN}|ben>")
    return text


async def figures(world: SlackWorld) -> dict[str, Any]:
    report = await compute_stats(world.core.db, now=world.clock.now(), channel_id=SUPPORT)
    return report.total.to_dict()


async def quality(world: SlackWorld) -> dict[str, Any]:
    found = await quality_figures(world.core.db, now=world.clock.now(), channel_id=SUPPORT)
    return found.to_dict()


async def set_aside(world: SlackWorld) -> list[tuple[str, str]]:
    async with world.core.db.reading() as session:
        rows = await session.execute(
            select(SetAsidePost.reason, SetAsidePost.text).order_by(SetAsidePost.posted_at)
        )
        return [(r.reason, r.text) for r in rows]


async def test_thanks_emoji_and_solved_after_an_answer_are_not_requests(world: SlackWorld) -> None:
    text = await watch(world)
    assert "noise filter on" in text and "bursts within 3 min are one request" in text
    question = await world.post(OPS, "Exports for Hamburg stopped at 02:00, can someone check?")
    await world.advance(minutes=1)
    await world.post(ANNA, "Restarted the exporter, should be back", thread_ts=question)
    await world.advance(minutes=10)
    await world.post(OPS, "thanks!")
    await world.advance(minutes=1)
    await world.post(OPS, ":+1:")
    await world.advance(minutes=30)
    await world.post(OPS, "solved, ignore me")
    await world.post(OPS2, "Danke dir! 🙏")
    await world.post(OPS2, "Hallo zusammen")
    await world.advance(minutes=30)  # nothing opened, so nothing breaches or escalates
    assert world.sent("chat.postMessage") == []
    assert (await figures(world))["requests"] == 1
    assert await set_aside(world) == [
        ("thanks", "thanks!"),
        ("emoji", ":+1:"),
        ("solved", "solved, ignore me"),
        ("thanks", "Danke dir! 🙏"),
        ("greeting", "Hallo zusammen"),
    ]
    stats = await world.command("stats")
    assert "Requests: 1 ·" in stats
    assert (
        "Not counted as requests: 5 posts (thanks 2 · greetings 1 · "
        '"solved"/"ignore me" 1 · only emoji 1)'
    ) in stats
    # A question is never noise, even made of listed words; a link is something to look at.
    await world.post(OPS2, "ok?")
    await world.post(BEN, "thanks https://status.example.com")
    assert (await figures(world))["requests"] == 3


async def test_a_burst_is_one_request(world: SlackWorld) -> None:
    await watch(world)
    first = await world.post(OPS, "The courier sync fails for Berlin")
    await world.advance(seconds=40)
    await world.post(ANNA, f"<@{OPS}> looking", thread_ts=first)
    await world.advance(seconds=30)
    burst = await world.post(OPS, "Error is `timeout after 30s` on /v2/couriers")  # in burst
    await world.advance(minutes=1)
    await world.post(OPS, "And it started after the 14:00 deploy")  # 1.5 min after the last
    await world.advance(minutes=4)
    await world.post(OPS, "Different thing: can I get access to the Grafana board?")
    got = await figures(world)
    assert got["requests"] == 2 and got["responded"] == 1
    assert [r for r, _ in await set_aside(world)] == ["burst", "burst"]
    assert "bursts (joined the requester's request) 2" in await world.command("stats")
    # Retried under another event id, a set-aside post is not counted twice.
    again = world.message(OPS, "Error is `timeout after 30s` on /v2/couriers", ts=burst)
    assert (await world.event(again, event_id="Ev-retry")).status == 200
    assert len(await set_aside(world)) == 2
    assert (await figures(world))["requests"] == 2


async def test_next_response_is_measured_after_each_follow_up(world: SlackWorld) -> None:
    text = await watch(world, "next=30m")
    assert "next response 30 min" in text
    request = await world.post(OPS, "Refund for order 5512 went to the wrong card")
    await world.advance(minutes=1)
    await world.post(ANNA, "On it, reversing it now.", thread_ts=request)  # first response
    await world.advance(minutes=5)
    await world.post(OPS, "It still shows as pending for the customer", thread_ts=request)
    await world.advance(minutes=17, seconds=59)
    assert world.sent("chat.postMessage") == []
    await world.advance(seconds=1)  # 60% of the next-response target: the same nudge
    nudges = [c.args for c in world.sent("chat.postMessage") if c.args["channel"] in (ANNA, BEN)]
    assert len(nudges) == 2
    assert (
        "A follow-up in <#C0SUPPORT> has waited 18 min for the next response" in (nudges[0]["text"])
    )
    await world.advance(minutes=11)
    assert (await quality(world))["next_response_seconds"]["running"] == 1
    await world.advance(minutes=1)  # the target: one message in the thread
    [breach] = [c.args for c in world.sent("chat.postMessage") if c.args.get("thread_ts")]
    assert f"<@{OPS}>'s follow-up has had no response for 30 min" in breach["text"]
    assert f"<@{ANNA}> <@{BEN}>: can you take it?" in breach["text"]
    got = (await quality(world))["next_response_seconds"]
    assert got["breached"] == 1 and got["running"] == 0 and got["measured"] == 0
    await world.advance(minutes=5)
    await world.post(BEN, "Pending clears overnight; the bank has it.", thread_ts=request)
    await world.post(OPS, "thanks!", thread_ts=request)  # noise starts no clock
    await world.advance(minutes=3)
    await world.post(OPS, "One more: will they get an email?", thread_ts=request)
    await world.advance(minutes=10)
    await world.react(ANNA, "eyes", request)  # an acknowledgement answers it too
    await world.advance(minutes=60)  # answered: its nudge and breach never come
    assert len(world.sent("chat.postMessage")) == 3
    got = (await quality(world))["next_response_seconds"]
    assert got["measured"] == 2 and got["breached"] == 1 and got["within_target"] == 1
    assert got["p50"] == (35 * 60 + 10 * 60) / 2
    stats = await world.command("stats")
    assert "Next response: 2 measured · within target 1 (50%) · breached 1" in stats
    # The first-response figures are those of the plain rules.
    assert (await figures(world))["first_response_seconds"]["max"] == 60.0


async def test_waiting_on_the_requester_pauses_the_clocks(world: SlackWorld) -> None:
    await watch(world, "next=30m resolve=1h")
    request = await world.post(OPS, "Checkout shows a blank page for some merchants")
    await world.advance(minutes=2)
    await world.post(ANNA, "Which merchant ids, and since when?", thread_ts=request)
    await world.advance(minutes=180)  # far past the resolution target, but waiting on OPS
    got = (await quality(world))["resolution_seconds"]
    assert got["running"] == 1 and got["breached"] == 0
    assert (await quality(world))["next_response_seconds"]["running"] == 0
    await world.post(OPS, "M-1001 and M-1002, since this morning", thread_ts=request)
    await world.advance(minutes=10)
    await world.post(BEN, "Found it: a stale CDN rule. Purged.", thread_ts=request)
    await world.advance(minutes=10)
    await world.react(BEN, "white_check_mark", request)
    got = await quality(world)
    # Resolution: 3 h 22 min to close, less 3 h waiting on the requester.
    assert got["resolution_seconds"]["measured"] == 1
    assert got["resolution_seconds"]["within_target"] == 1
    assert got["resolution_seconds"]["p50"] == 22 * 60
    assert got["next_response_seconds"]["measured"] == 1
    assert got["next_response_seconds"]["p50"] == 10 * 60

    # :hourglass: from a responder pauses too; the requester's answer resumes the clock.
    second = await world.post(OPS2, "Can you raise our API rate limit?")
    await world.advance(minutes=1)
    await world.react(BEN, "eyes", second)
    await world.react(BEN, "hourglass", second)
    await world.advance(minutes=120)
    got = (await quality(world))["resolution_seconds"]
    assert got["running"] == 1 and got["breached"] == 0
    await world.post(OPS2, "We need 500 per minute", thread_ts=second)
    await world.advance(minutes=58)
    assert (await quality(world))["resolution_seconds"]["breached"] == 0
    await world.advance(minutes=2)  # 1 min before the hourglass + 60 after the answer
    assert (await quality(world))["resolution_seconds"]["breached"] == 1
    assert "Resolution: 1 measured · within target 1 (50%) · breached 1" in (
        await world.command("stats")
    )


async def test_noise_off_gives_the_plain_rules(world: SlackWorld) -> None:
    text = await watch(world, "noise=off")
    assert "noise filter off" in text
    question = await world.post(OPS, "Exports for Hamburg stopped at 02:00")
    await world.advance(minutes=1)
    await world.post(ANNA, "Restarted the exporter", thread_ts=question)
    await world.advance(seconds=30)
    munich = await world.post(OPS, "Also the Munich one?")  # a burst under the new rules
    await world.advance(minutes=1)
    await world.post(ANNA, "Yes, that one too", thread_ts=munich)
    await world.advance(minutes=10)
    await world.post(OPS, "thanks!")
    await world.post(OPS2, "👍")
    # The plain rules: the burst post, the thanks and the emoji each opened a request.
    assert (await figures(world))["requests"] == 4
    assert await set_aside(world) == []
    await world.advance(minutes=10)  # and the thanks and the emoji breach
    assert len([c for c in world.sent("chat.postMessage") if c.args.get("thread_ts")]) == 2
    # Switched on again: only new posts are read by the new rules.
    await world.command("watch requests noise=on")
    await world.post("UOPS3", "thx")
    assert (await figures(world))["requests"] == 4
    assert [r for r, _ in await set_aside(world)] == ["thanks"]


async def test_watch_options_are_validated_and_editable(world: SlackWorld) -> None:
    await watch(world)
    for option, says in (
        ("next=soon", 'next: I can\'t read "soon" as a duration'),
        ("resolve=10", 'resolve: I can\'t read "10" as a duration'),
        ("noise=maybe", 'noise: "maybe" is not on or off'),
        ("burst=quick", 'burst: I can\'t read "quick" as a duration'),
        ('waiting="?,hour glass"', 'waiting: "hour glass" is not an emoji name'),
        ('noise_words="+"', 'noise_words: "+" is not a phrase'),
        ("nois=off", '"nois" is not an option'),
    ):
        assert says in await world.command(f"watch requests {option}"), option
    text = await world.command(
        'watch requests noise_words="+passt schon,-ok" burst=off waiting=hourglass'
    )
    assert "default list +passt schon, −ok" in text and "no bursts" in text
    assert "waiting on requester after :hourglass:" in text
    await world.post(OPS, "passt schon!")
    await world.post(OPS2, "ok")  # removed from the list: a request again
    assert (await figures(world))["requests"] == 1
    assert [r for r, _ in await set_aside(world)] == ["custom"]
    text = await world.command("watch requests noise_words=default next=off")
    assert "noise filter on ·" in text and "next response" not in text


def test_cli_watch_options_and_stats(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    base = ("watch", "C1", "--kind", "requests", "--workspace", "T1")
    assert run_cli("migrate", db=db).returncode == 0
    bad = run_cli(*base, "--next", "30", db=db)
    assert bad.returncode == 2 and "next=5m" in bad.stderr and "Traceback" not in bad.stderr
    ok = run_cli(*base, "--next", "30m", "--resolve", "1d", "--noise-words", "+merci bien", db=db)
    assert ok.returncode == 0, ok.stderr
    assert "next response 30 min · resolve 1 d" in ok.stdout and "+merci bien" in ok.stdout
    events = tmp_path / "events.jsonl"
    posts = [("U1", "Is the invoice export down?", "1000.0"), ("U2", "Merci bien!", "1100.0")]
    events.write_text(
        "\n".join(
            json.dumps({"type": "message", "channel": "C1", "user": u, "text": t, "ts": ts})
            for u, t, ts in posts
        )
    )
    assert run_cli("import", str(events), "--workspace", "T1", db=db).returncode == 0
    stats = run_cli("stats", "--format", "json", db=db)
    got = json.loads(stats.stdout)
    assert got["requests"] == 1 and got["quality"]["set_aside"] == {"custom": 1}
    table = run_cli("stats", db=db).stdout
    assert "Not counted as requests: 1 post (the channel's own phrases 1)" in table
