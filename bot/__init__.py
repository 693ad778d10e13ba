"""Firstline core: the support desk, its rules and its figures, free of any chat platform."""
