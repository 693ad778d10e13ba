"""Our models of slack_sdk's OAuth tables agree with the tables slack_sdk's stores use."""

from __future__ import annotations

import pytest
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table

from storage.models import Base


def _shape(table: Table) -> dict[str, tuple[str, bool]]:
    return {c.name: (repr(c.type), bool(c.nullable)) for c in table.columns}


@pytest.mark.parametrize(
    "build",
    [
        lambda m: SQLAlchemyInstallationStore.build_installations_table(m, "slack_installations"),
        lambda m: SQLAlchemyInstallationStore.build_bots_table(m, "slack_bots"),
        lambda m: SQLAlchemyOAuthStateStore.build_oauth_states_table(m, "slack_oauth_states"),
    ],
    ids=["installations", "bots", "oauth_states"],
)
def test_our_model_matches_slack_sdk(build: object) -> None:
    theirs: Table = build(MetaData())  # type: ignore[operator]
    ours = Base.metadata.tables[theirs.name]
    assert _shape(ours) == _shape(theirs)
    assert {i.name: [c.name for c in i.columns] for i in ours.indexes} == {
        i.name: [c.name for c in i.columns] for i in theirs.indexes
    }


class FakeStore:
    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.lookups = 0

    async def async_find_bot(self, *, enterprise_id: None, team_id: str) -> object:
        self.lookups += 1
        token = self.tokens.get(team_id)
        return None if token is None else type("Bot", (), {"bot_token": token})()


async def test_tokens_are_cached_but_not_installed_never_is() -> None:
    from handlers.slack.install import WorkspaceTokens

    store = FakeStore()
    tokens = WorkspaceTokens(store=store)  # type: ignore[arg-type]
    assert await tokens.token("T1") is None
    store.tokens["T1"] = "xoxb-1"  # installed meanwhile (perhaps through another replica)
    assert await tokens.token("T1") == "xoxb-1"
    assert await tokens.token("T1") == "xoxb-1"
    assert store.lookups == 2  # the second answer came from the cache
    store.tokens["T1"] = "xoxb-2"
    tokens.forget("T1")  # Slack refused the old one
    assert await tokens.token("T1") == "xoxb-2"
