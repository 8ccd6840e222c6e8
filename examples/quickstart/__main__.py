"""Two Edgee AI Gateway API keys: a restricted backend key and a Claude Code key.

Set the Console API token once with `pulumi config set --secret edgee:apiToken <token>`
(and `edgee:organizationId`), then `pulumi up`.
"""

import pulumi

from pulumi_edgee import ApiKey

config = pulumi.Config()

backend = ApiKey(
    "backend",
    name=config.get("backendName") or "Production Backend",
    models=["anthropic/claude-opus-4-6", "openai/gpt-5.2"],
    max_usage=config.get_int("backendMaxUsage") or 1000,
    expires_in_days=90,
)

assistant = ApiKey(
    "claude-code",
    name="Claude Code - platform team",
    type="coding_agent",
    coding_assistant="claude_code",
    email="platform@example.com",
)

pulumi.export("backendKeyId", backend.id)
pulumi.export("backendKey", backend.key)
pulumi.export("backendExpiresAt", backend.expires_at)
pulumi.export("assistantKey", assistant.key)
