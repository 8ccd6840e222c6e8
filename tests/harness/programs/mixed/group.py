"""A helper module next to ``__main__.py``, imported by the program like any local module."""

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
