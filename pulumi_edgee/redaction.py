"""Secret inputs kept out of messages.

A program may give any input as a Pulumi secret (a `name` read from secret config, say).
The plugin receives such values marked; a dynamic provider receives them plain (the SDK's
server does not accept secrets), so `ApiKey` adds the names of its secret inputs as
`__secretInputs`. Each front door masks those values in every error and check failure
it answers with: the lifecycle may quote an input ("creating API key 'x' failed"), and
text from the Console API may echo one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .console.errors import mask
from .properties import SECRET_INPUTS


def secret_values(props: Mapping[str, Any], names: Iterable[str]) -> tuple[str, ...]:
    """The text values (strings, and strings in lists) of the named properties."""
    found: list[str] = []
    for name in names:
        value = props.get(name)
        items = value if isinstance(value, (list, tuple)) else [value]
        found += [item for item in items if isinstance(item, str) and item]
    return tuple(found)


def declared_secret_values(props: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of the inputs `__secretInputs` names (a dynamic resource's)."""
    names = props.get(SECRET_INPUTS)
    if not isinstance(names, (list, tuple)):
        return ()
    return secret_values(props, [n for n in names if isinstance(n, str)])


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret input value masked."""
    values = tuple(secrets)
    return mask(text, *values) if values else text
