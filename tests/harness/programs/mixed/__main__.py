"""A component resource parenting a counter; config switches on what the harness refuses:
a non-dynamic custom resource (``foreign``) and an invoke (``invoke``)."""

import pulumi
from group import Group

config = pulumi.Config()
group = Group("group", config.get_int("size") or 1)
pulumi.export("counterId", group.counter.id)

if config.get_bool("foreign"):
    pulumi.CustomResource("random:index/randomId:RandomId", "foreign", {"byteLength": 4})
if config.get_bool("invoke"):
    pulumi.runtime.invoke("random:index/getThing:getThing", {})
