"""The errors Firstline raises on purpose.

Every error a user can cause carries a message that says what was wrong and what to
type instead; handlers show ``error.message`` as it is (ephemeral in Slack).
"""

from __future__ import annotations


class FirstlineError(Exception):
    """Base class: something Firstline refuses, with a message meant for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(FirstlineError):
    """A command or argument a user typed is wrong; the message names it and the right form."""


class NotAllowedError(FirstlineError):
    """The user may not do this (for example, configuration by a non-admin)."""


class ConfigurationError(FirstlineError):
    """The process is started with missing or contradictory settings."""
