"""Incidents: the channel, the living ticket, roles and explicit handoffs, timeline, nudges."""
