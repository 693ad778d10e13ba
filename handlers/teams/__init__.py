"""Microsoft Teams on the Microsoft 365 Agents SDK (the optional `teams` extra): activities in,
Adaptive Cards out."""
