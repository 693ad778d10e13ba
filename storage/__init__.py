"""Storage: the database engine, the tables, and the inbox, outbox and timer repositories.

Only SQLAlchemy is imported here; nothing knows about Slack or Teams.
"""
