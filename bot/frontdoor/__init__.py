"""The front door: every command and every button press, from Slack, Teams or the shell,
is authorized, validated and routed here, once (``bot.frontdoor.router``), by the rules in
``bot.frontdoor.rules``; what it says when it refuses lives in ``bot.frontdoor.messages``."""
