"""The scheduler: fires due timers and delivers the outbox, waking at the next due time."""
