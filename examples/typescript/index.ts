// The SDK in sdks/edgee is generated from the plugin's schema by
//   pulumi package add <path to site-packages>/pulumi_edgee/plugin
// (or, with `pip install pulumi-edgee`, `pulumi package add edgee`), which also adds it
// to package.json as "@pulumi/edgee".
import * as pulumi from "@pulumi/pulumi";
import * as edgee from "@pulumi/edgee";

const backend = new edgee.ApiKey("backend", {
    name: "Production Backend",
    models: ["anthropic/claude-opus-4-6", "openai/gpt-5.2"],
    maxUsage: 1000,
    expiresInDays: 90,
});

const assistant = new edgee.ApiKey("assistant", {
    name: "Claude Code",
    type: "coding_agent",
    codingAssistant: "claude_code",
    active: true,
});

// A key this stack does not manage; its secret only because reveal is asked for.
const shared = edgee.getApiKeyOutput({ name: "Shared Staging Key", reveal: true });
const teamKeys = edgee.getApiKeysOutput({ namePrefix: "team-" });

export const backendKey = backend.key; // a secret
export const backendExpiresAt = backend.expiresAt;
export const assistantOrganization = assistant.organizationId;
export const sharedKey = shared.key; // a secret
export const teamKeyIds = teamKeys.keys.apply(keys => keys.map(k => k.id));
