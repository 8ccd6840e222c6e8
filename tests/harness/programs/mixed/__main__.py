"""A component resource parenting a counter; config switches on what the harness refuses:
a non-dynamic custom resource (``foreign``) and an invoke (``invoke``)."""

import pulumi
from harness_support.counter_provider import Counter


class Group(pulumi.ComponentResource):
    """A component whose one input (``size``) the engine diffs itself."""

    def __init__(self, name: str, size: int) -> None:
        super().__init__("harness:index:Group", name, {"size": size})
        self.counter = Counter(
            f"{name}-counter",
            {"name": f"{name}-counter", "value": size},
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"counterId": self.counter.id})


config = pulumi.Config()
group = Group("group", config.get_int("size") or 1)
pulumi.export("counterId", group.counter.id)

if config.get_bool("foreign"):
    pulumi.CustomResource("random:index/randomId:RandomId", "foreign", {"byteLength": 4})
if config.get_bool("invoke"):
    pulumi.runtime.invoke("random:index/getThing:getThing", {})
