"""The support rota: teams, members, leave, the Monday pick and the Wednesday handoff."""
