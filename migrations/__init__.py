"""Alembic migrations for Firstline's schema (exactly one head)."""
