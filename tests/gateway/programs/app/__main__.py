"""One ApiKey per entry of the `keys` config object; like an application that depends on
a key, the program calls the Gateway (official `edgee` client) with each key's secret as
soon as it is known, and also with the secrets in the `watch` secret config (label ->
secret), and exports what each call saw as `<name>-seen`."""

import json

import pulumi

from pulumi_edgee import ApiKey
from pulumi_edgee.testing.gateway import ask_gateway

config = pulumi.Config()
gateway_url = pulumi.Config("edgee").require("consoleUrl")
model = config.get("model") or "openai/gpt-5.2"
watch = config.get_secret_object("watch") or pulumi.Output.secret({})


def probe(secret: str, watched: dict[str, str]) -> str:
    seen = {"new": str(ask_gateway(gateway_url, secret, model))}
    for label, other in watched.items():
        seen[label] = str(ask_gateway(gateway_url, other, model))
    return json.dumps(seen)


for resource_name, props in (config.get_object("keys") or {}).items():
    key = ApiKey(resource_name, **props)
    pulumi.export(f"{resource_name}-key", key.key)
    pulumi.export(f"{resource_name}-id", key.id)
    pulumi.export(
        f"{resource_name}-seen", pulumi.Output.all(key.key, watch).apply(lambda a: probe(*a))
    )
