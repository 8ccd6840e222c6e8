"""One RotatingApiKey per entry of the `keys` config object (Python names), exporting
each key's current and previous secret."""

import pulumi

from pulumi_edgee import RotatingApiKey

for resource_name, props in (pulumi.Config().get_object("keys") or {}).items():
    key = RotatingApiKey(resource_name, **props)
    pulumi.export(f"{resource_name}-key", key.key)
    pulumi.export(f"{resource_name}-previous", key.previous_key)
