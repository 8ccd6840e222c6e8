"""Two keys covering every input property, for the state an earlier release writes."""

import pulumi

from pulumi_edgee import ApiKey

config = pulumi.Config()

backend = ApiKey(
    "backend",
    name="Production Backend",
    models=["anthropic/claude-opus-4-6", "openai/gpt-5.2"],
    max_usage=config.get_int("backendMaxUsage") or 1000,
    expires_in_days=3650,
    email="billing@example.com",
)

assistant = ApiKey(
    "claude-code",
    name="Claude Code - platform team",
    type="coding_agent",
    coding_assistant="claude_code",
    active=False,
)

pulumi.export("backendKey", backend.key)
pulumi.export("assistantKeyId", assistant.id)
