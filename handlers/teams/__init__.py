"""Microsoft Teams: activities in, Adaptive Cards out, through botbuilder (an optional extra)."""
