"""One ApiKey per entry of the `keys` config object, so tests can add, change and
remove keys between runs without editing the program."""

import pulumi

from pulumi_edgee import ApiKey

config = pulumi.Config()
for resource_name, props in (config.get_object("keys") or {}).items():
    options = pulumi.ResourceOptions(delete_before_replace=props.pop("delete_before_replace", None))
    key = ApiKey(resource_name, opts=options, **props)
    pulumi.export(f"{resource_name}-key", key.key)
    pulumi.export(f"{resource_name}-id", key.id)
