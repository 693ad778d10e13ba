"""Triage: a category per request, with a reply template per category."""
