"""Names a package exposes without importing their modules until first use, so that
`import pulumi_edgee` (and its `console` package) stay cheap."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `name` from its home module on first access
    and caches it in the package's namespace."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = import_module(home, package)
        value = getattr(module, name)
        setattr(import_module(package), name, value)
        return value

    return __getattr__
