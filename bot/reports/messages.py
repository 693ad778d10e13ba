"""What reports say: the weekly report (Slack and Markdown), SLO notices, the Home tab."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.content import Content, message_ref
from bot.durations import format_duration
from bot.reports.charts import DAYS
from bot.reports.figures import WeeklyReport
from bot.reports.slo import RULES, Budget, Objective, percent

SLACK_BREACHES = 10


def _dur(value: float | None) -> str:
    return "–" if value is None else format_duration(value)


def _delta_dur(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) < 0.5:
        return " (±0)"
    return f" ({'+' if value > 0 else '−'}{format_duration(abs(value))})"


def _delta_count(value: int) -> str:
    return f" ({value:+d})" if value else " (±0)"


def _delta_points(value: float | None) -> str:
    if value is None:
        return ""
    points = value * 100
    return f" ({points:+.1f} pp)" if round(points, 1) else " (±0 pp)"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def report_sections(report: WeeklyReport) -> list[tuple[str, list[str]]]:
    """The report as (heading, lines), for both Slack mrkdwn and Markdown."""
    fig, delta = report.figures, report.deltas()
    fr, close = fig["first_response_seconds"], fig["time_to_close_seconds"]
    noun = "Alert acknowledgement" if report.kind == "alerts" else "First response"
    items = "alerts" if report.kind == "alerts" else "requests"
    decided = fig["within_target"] + fig["breached"]
    sections: list[tuple[str, list[str]]] = [
        (
            noun,
            [
                f"{items.capitalize()}: {fig['requests']}{_delta_count(delta['requests'])} · "
                f"answered {fig['responded']} · unanswered {fig['unanswered']} · "
                f"closed {fig['closed']}",
                f"Within target: {fig['within_target']} of {decided} "
                f"({_share(fig['within_target_ratio'])}){_delta_points(delta['within_target_ratio'])}",
                f"p50 {_dur(fr['p50'])}{_delta_dur(delta['p50'])} · "
                f"p90 {_dur(fr['p90'])}{_delta_dur(delta['p90'])} · "
                f"max {_dur(fr['max'])}{_delta_dur(delta['max'])}",
                "Deltas compare with the week before.",
            ],
        ),
        (
            "Time to close",
            [f"p50 {_dur(close['p50'])} · p90 {_dur(close['p90'])} · closed {fig['closed']}"],
        ),
    ]
    clocks = [(name, report.quality[key]) for key, name in _CLOCKS if key in report.quality]
    for name, clock in clocks:
        sections.append(
            (f"{name} (target {format_duration(clock['target_seconds'])})", _clock_lines(clock))
        )
    days = " · ".join(f"{DAYS[i]} {n}" for i, (_, n) in enumerate(report.per_day))
    busiest = report.busiest()
    day_lines = [days]
    if busiest:
        day, hour, count = busiest
        day_lines.append(
            f"Busiest hour: {DAYS[day]} {hour:02d}:00–{(hour + 1) % 24:02d}:00 ({count})"
        )
    sections.append((f"{items.capitalize()} per day ({report.tz})", day_lines))
    breach_lines = []
    for breach in report.breaches:
        local = _local_ts(breach.ts, report.tz)
        link = message_ref(report.channel_id, breach.ts, local)
        how = (
            f"answered after {_dur(breach.first_response_seconds)}"
            if breach.first_response_seconds is not None
            else "no first response"
        )
        breach_lines.append(
            f"• {link} from <@{breach.requester}>: {how} "
            f"(target {format_duration(breach.target_seconds)})"
        )
    if report.breach_count > len(report.breaches):
        breach_lines.append(f"…and {report.breach_count - len(report.breaches)} more.")
    sections.append((f"Breaches ({report.breach_count})", breach_lines or ["None. 🎉"]))
    for name, clock in clocks:
        sections.append(
            (
                f"{name} breaches ({clock['breach_count']})",
                _clock_breach_lines(report, name, clock) or ["None. 🎉"],
            )
        )
    sections.append(
        (
            "Escalations to the second line",
            [f"• {who} ×{n}" for who, n in report.escalations] or ["None."],
        )
    )
    sections.append(
        (
            f"Recurring {items}",
            [f"• “{text}” ×{n}" for text, n in report.recurring] or ["None repeated this week."],
        )
    )
    sections.append(
        (
            "Incidents",
            [
                f"• #{i['id']} {i['severity']} {i['title']}: "
                + (
                    f"resolved after {_dur(i['duration_seconds'])}"
                    if i["duration_seconds"] is not None
                    else "still open"
                )
                for i in report.incidents
            ]
            or ["None."],
        )
    )
    if report.alerts:
        alert_lines = []
        for alert in report.alerts:
            ack = alert["first_response_seconds"]
            alert_lines.append(
                f"• <#{alert['channel']}>: {alert['requests']} alerts · acknowledged "
                f"p50 {_dur(ack['p50'])} · p90 {_dur(ack['p90'])} · max {_dur(ack['max'])} · "
                f"within target {_share(alert['within_target_ratio'])}"
            )
        sections.append(("Alert acknowledgement", alert_lines))
    if report.slo is not None:
        slo = report.slo
        sections.append(
            (
                "Error budget",
                [
                    f"{_left(slo['budget_left'])} left "
                    f"(objective {percent(slo['objective'])} over {slo['window_days']} days; "
                    f"{_share(slo['sli'])} within target)"
                    + (" · spent: prioritise support debt" if slo["spent"] else "")
                ],
            )
        )
    return sections


# The request-quality clocks a report shows when the channel sets their target.
_CLOCKS = (("next_response", "Next response"), ("resolution", "Resolution"))
_BREACH_HEADINGS = ("Breaches", *(f"{name} breaches" for _, name in _CLOCKS))


def _clock_lines(clock: dict[str, Any]) -> list[str]:
    """A next-response or resolution week in the first response's words."""
    before = clock["previous"]

    def minus(key: str) -> float | None:
        a, b = clock[key], before[key]
        return None if a is None or b is None else round(a - b, 4)

    decided = clock["within_target"] + clock["breached"]
    return [
        f"Measured: {clock['measured']} · breached {clock['breached']} · "
        f"running {clock['running']}",
        f"Within target: {clock['within_target']} of {decided} "
        f"({_share(clock['within_target_ratio'])})"
        f"{_delta_points(minus('within_target_ratio'))}",
        f"p50 {_dur(clock['p50'])}{_delta_dur(minus('p50'))} · "
        f"p90 {_dur(clock['p90'])}{_delta_dur(minus('p90'))}",
    ]


def _clock_breach_lines(report: WeeklyReport, name: str, clock: dict[str, Any]) -> list[str]:
    lines = []
    for breach in clock["breaches"]:
        link = message_ref(report.channel_id, breach["ts"], _local_ts(breach["ts"], report.tz))
        if breach["seconds"] is not None:
            how = f"{'answered' if name == 'Next response' else 'resolved'} after "
            how += _dur(breach["seconds"])
        else:
            how = "no next response yet" if name == "Next response" else "still open"
        target = breach["target_seconds"] or clock["target_seconds"]
        lines.append(
            f"• {link} from <@{breach['requester']}>: {how} (target {format_duration(target)})"
        )
    if clock["breach_count"] > len(clock["breaches"]):
        lines.append(f"…and {clock['breach_count'] - len(clock['breaches'])} more.")
    return lines


def _title(report: WeeklyReport) -> str:
    first, last = report.per_day[0][0], report.per_day[-1][0]
    so_far = "" if report.complete else ", so far"
    return f"Weekly report {report.week} ({first} to {last}, {report.tz}{so_far})"


def report_content(report: WeeklyReport) -> Content:
    lines = [f"📊 *{_title(report)}* for <#{report.channel_id}>"]
    for heading, body in report_sections(report):
        if heading.startswith(_BREACH_HEADINGS) and len(body) > SLACK_BREACHES:
            # The heading's count, not the lines': the report itself holds only the first
            # TOP_BREACHES, and its "…and N more." line is no breach.
            total = int(heading.rsplit("(", 1)[1].rstrip(")"))
            body = [*body[:SLACK_BREACHES], f"…and {total - SLACK_BREACHES} more."]
        lines.append(f"\n*{heading}*")
        lines.extend(body)
    charts = "Charts follow: requests per day and the hour-of-week heatmap."
    return Content(text="\n".join(lines), context=charts if report.figures["requests"] else None)


def report_markdown(reports: list[WeeklyReport], *, base_url: str = "") -> str:
    """The reports as Markdown: links to messages, people by name where known (else id)."""
    out: list[str] = []
    for report in reports:
        where = report.channel_label or report.channel_id
        out.append(f"# {_title(report)}: channel {where} ({report.kind})\n")
        for heading, body in report_sections(report):
            out.append(f"## {heading}\n")
            out.extend(
                _markdown_line(line, report.base_url or base_url, report.names) for line in body
            )
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _markdown_line(line: str, base_url: str, names: dict[str, str]) -> str:
    def link(match: re.Match[str]) -> str:
        channel, ts, label = match.group(1), match.group(2), match.group(3)
        if not base_url:
            return f"{label} ({channel} {ts})"
        base = base_url if base_url.endswith("/") else base_url + "/"
        return f"[{label}]({base}archives/{channel}/p{ts.replace('.', '')})"

    line = re.sub(r"<ref:([A-Z0-9]+):(\d+\.\d+)\|([^>]*)>", link, line)
    line = re.sub(
        r"<@([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: f"@{names.get(m.group(1), m.group(1))}", line
    )
    line = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>", r"@\1", line)
    return "- " + line[2:] if line.startswith("• ") else line


def _local_ts(ts: str, tz: str) -> str:
    seconds = float(ts)
    local = datetime.fromtimestamp(seconds, ZoneInfo(tz))
    return f"{DAYS[local.weekday()]} {local:%H:%M}"


def report_posting(week: str, channel_id: str) -> Content:
    return Content(text=f"Posting the report for {week} in <#{channel_id}> now, with its charts.")


# -- SLO ------------------------------------------------------------------------------------


def slo_status(*, channel_id: str, budget: Budget, configured: bool) -> Content:
    objective = budget.objective
    rates = []
    for rule in RULES:
        long, short = budget.burn[rule.name]
        rates.append(
            f"{rule.name}: {_rate(long)} over {_span_text(rule.long)}, "
            f"{_rate(short)} over {_span_text(rule.short)} (warns at {rule.rate:g}x)"
        )
    source = "" if configured else " (the default; change with /support slo set 95% 28d)"
    left = budget.left
    state = (
        "🔥 spent: prioritise support debt" if budget.spent else f"{_left(left)} of the budget left"
    )
    return Content(
        text=(
            f"*Objective for <#{channel_id}>*: {objective.describe()}{source}\n"
            f"Last {objective.window_days} days: {budget.window.decided} decided, "
            f"{budget.window.missed} missed the target, {_share(budget.sli)} within target. "
            f"Error budget: {state}.\n"
            "Burn rate (1x lasts exactly the window): " + "; ".join(rates)
        )
    )


def slo_set(*, channel_id: str, objective: Objective) -> Content:
    return Content(text=f"Objective for <#{channel_id}> is now: {objective.describe()}.")


def slo_warning(*, budget: Budget, rule: str) -> Content:
    long, short = budget.burn[rule]
    chosen = next(r for r in RULES if r.name == rule)
    days = budget.objective.window_days / long if long else None
    when = f" in about {days:.1f} days" if days is not None else ""
    return Content(
        text=(
            f"⚠️ Error budget burning fast: {_rate(long)} over the {_span_text(chosen.long)} "
            f"and {_rate(short)} over the {_span_text(chosen.short)}. At this pace the "
            f"{budget.objective.window_days}-day budget is gone{when}. "
            f"{_left(budget.left)} left "
            f"(objective: {budget.objective.describe()})."
        )
    )


def slo_spent(*, budget: Budget) -> Content:
    return Content(
        text=(
            "🔥 Error budget spent: prioritise support debt. In the last "
            f"{budget.objective.window_days} days {budget.window.missed} of "
            f"{budget.window.decided} requests missed the target ({_share(budget.sli)} within "
            f"target, objective {percent(budget.objective.objective)})."
        )
    )


def _left(value: float) -> str:
    """What is left of a budget, as a whole percentage (never below zero)."""
    return f"{max(value, 0.0) * 100:.0f}%"


def budget_left(value: float) -> str:
    return _left(value)


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}x"


def _span_text(span: Any) -> str:
    hours = span.total_seconds() / 3600
    return f"last {hours / 24:g} d" if hours >= 24 else f"last {hours:g} h"
