"""The `edgee` provider plugin: the ApiKey lifecycle served to every Pulumi language.

`pulumi-resource-edgee` (a console script) and the plugin directory that
`scripts/bundle_plugin.py` builds (`PulumiPlugin.yaml`, this package's `__main__.py` and
the wheel) both start `server.main`.
"""

from __future__ import annotations


def main() -> int:
    """Entry point of `pulumi-resource-edgee`; imports the gRPC stack only when run."""
    from .server import main as serve

    return serve()
