// Edgee API keys from TypeScript, through the `edgee` provider plugin (on PATH, or
// installed from its tarball: see the YAML example's header).
//
// `@pulumi/edgee` is the SDK in sdks/edgee, generated from the plugin's schema. With a
// current Pulumi CLI, `pulumi package add <folder of schema.json or the unpacked plugin>`
// generates it and adds it to package.json; from a checkout of this repository the same
// code generator runs as
//   (cd scripts/gensdk && go run . ../../schema.json nodejs ../../examples/typescript/sdks/edgee)
// then `npm install` here, `pulumi stack init dev`, the two `pulumi config set` of the
// README, and `pulumi up`.
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
