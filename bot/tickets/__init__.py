"""Tickets: a `ticket` reaction turns a request into a Jira issue or a webhook call."""
