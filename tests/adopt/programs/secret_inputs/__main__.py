"""One ApiKey per entry of the `keys` config object, with the inputs `secret_inputs`
lists given as Pulumi secrets."""

import pulumi

from pulumi_edgee import ApiKey

config = pulumi.Config()
secret = set(config.get_object("secret_inputs") or [])
for resource_name, props in (config.get_object("keys") or {}).items():
    given = {k: pulumi.Output.secret(v) if k in secret else v for k, v in props.items()}
    key = ApiKey(resource_name, **given)
    pulumi.export(f"{resource_name}-id", key.id)
