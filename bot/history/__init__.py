"""Answers from history: a channel's resolved requests suggested for new ones like them."""
