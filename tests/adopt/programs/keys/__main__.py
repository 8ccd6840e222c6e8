"""One ApiKey per entry of the `keys` config object, so tests can add, change and
remove keys (and their `adopt_id` and rotation settings) between runs."""

import pulumi

from pulumi_edgee import ApiKey

config = pulumi.Config()
for resource_name, props in (config.get_object("keys") or {}).items():
    key = ApiKey(resource_name, **props)
    pulumi.export(f"{resource_name}-key", key.key)
    pulumi.export(f"{resource_name}-id", key.id)
