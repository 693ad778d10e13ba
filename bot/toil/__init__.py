"""Time off in lieu: out-of-hours work recorded per person, and what it is worth."""
