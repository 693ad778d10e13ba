"""Prometheus metrics, one registry per running Firstline (tests run several side by side)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

RESPONSE_BUCKETS = (30, 60, 120, 180, 300, 450, 600, 900, 1800, 3600, 7200, 14400, 86400)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "firstline_events", "Platform events received", ["platform", "type"], registry=r
        )
        self.facts = Counter(
            "firstline_facts", "Facts applied to the desk, by outcome", ["outcome"], registry=r
        )
        self.duplicates = Counter(
            "firstline_duplicate_events", "Retried events answered and ignored", registry=r
        )
        self.opened = Counter(
            "firstline_requests_opened", "Requests and alerts opened", ["kind"], registry=r
        )
        self.first_response = Histogram(
            "firstline_first_response_seconds",
            "Time to first response (business seconds)",
            ["kind"],
            buckets=RESPONSE_BUCKETS,
            registry=r,
        )
        self.breaches = Counter(
            "firstline_breaches", "First responses later than the target", ["kind"], registry=r
        )
        self.escalations = Counter(
            "firstline_escalations", "Escalation steps carried out", ["step"], registry=r
        )
        self.timer_lateness = Histogram(
            "firstline_timer_lateness_seconds",
            "How late due timers fired",
            buckets=(0.1, 0.5, 1, 5, 30, 60, 300, 3600),
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "firstline_outbox_backlog", "Outgoing messages not yet delivered", registry=r
        )
        self.deliveries = Counter(
            "firstline_deliveries", "Outbox delivery attempts by result", ["result"], registry=r
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
