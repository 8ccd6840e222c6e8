"""Keys this stack does not manage, read three ways: by id with the secret revealed, by
name without it, a filtered list, and `ApiKey.get`."""

import pulumi

from pulumi_edgee import ApiKey, get_api_key, get_api_keys

config = pulumi.Config()
by_id = get_api_key(id=config.require("keyId"), reveal=True)
by_name = get_api_key(name=config.require("keyName"))
listed = get_api_keys(name_prefix=config.get("prefix"), type=config.get("type"))
existing = ApiKey.get("existing", config.require("keyId"))

pulumi.export("byIdKey", by_id.key)
pulumi.export("byIdName", by_id.name)
pulumi.export("byIdMaxUsage", by_id.info.apply(lambda info: info.max_usage))
pulumi.export("byNameId", by_name.id)
pulumi.export("byNameKey", by_name.key)
pulumi.export("listedIds", listed.apply(lambda keys: [k.id for k in keys]))
pulumi.export("existingName", existing.name)
pulumi.export("existingKey", existing.key)
