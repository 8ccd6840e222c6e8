"""A lookup fed by another resource's output: unknown in the first preview, resolved
once the key exists."""

import pulumi

from pulumi_edgee import ApiKey, get_api_key

made = ApiKey("made", name="chained", max_usage=3)
found = get_api_key(id=made.id)
pulumi.export("foundName", found.name)
pulumi.export("foundMaxUsage", found.info.apply(lambda info: info.max_usage))
