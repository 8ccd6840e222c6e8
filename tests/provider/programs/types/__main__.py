"""The Python types a program sees for a key's outputs (numbers cross the wire as doubles)."""

import pulumi

from pulumi_edgee import ApiKey

key = ApiKey("typed", name="typed", max_usage=5, expires_in_days=30)
for attribute in ("max_usage", "expires_in_days", "active", "models", "name"):
    pulumi.export(attribute, getattr(key, attribute).apply(lambda v: type(v).__name__))
