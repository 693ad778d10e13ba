"""Platform handlers: Slack (Bolt) and Teams, turning platform traffic into neutral facts."""
