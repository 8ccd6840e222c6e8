"""One root for the package's own errors, drawn in `pulumi_edgee/errors.py` as it is."""

from __future__ import annotations

import re

import pulumi_edgee.errors
from pulumi_edgee.console import ConsoleError
from pulumi_edgee.errors import EdgeeError
from pulumi_edgee.key_finder import KeyLookupError, NoMatchError, SeveralMatchesError
from pulumi_edgee.lifecycle import ApiKeyError
from pulumi_edgee.report import ExportError
from pulumi_edgee.settings import SettingsError
from pulumi_edgee.takeover import AdoptionError


def test_the_tree_drawn_is_the_tree_defined() -> None:
    doc = pulumi_edgee.errors.__doc__ or ""
    drawn = {
        depth: re.findall(rf"(?m)^{marker} (\w+) - ", doc)
        for depth, marker in ((1, r"  \+"), (2, r"    -"))
    }
    children = [
        ConsoleError,
        SettingsError,
        ApiKeyError,
        AdoptionError,
        KeyLookupError,
        ExportError,
    ]
    assert drawn[1] == [c.__name__ for c in children]
    assert all(c.__bases__ == (EdgeeError,) for c in children)
    assert drawn[2] == ["NoMatchError", "SeveralMatchesError"]
    assert all(issubclass(c, KeyLookupError) for c in (NoMatchError, SeveralMatchesError))
