"""Slack: the Bolt app, event normalisation, Block Kit rendering and the Web API chat port."""
