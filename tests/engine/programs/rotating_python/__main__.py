"""A key rotated every 10 days, the previous one kept for 3."""

import pulumi

from pulumi_edgee import RotatingApiKey

backend = RotatingApiKey(
    "backend", name="backend", max_usage=100, rotate_every_days=10, grace_days=3
)
pulumi.export("keyId", backend.key_id)
pulumi.export("previousKeyId", backend.previous_key_id)
