"""Reference files the project keeps beside the repository (`../shared/reference/`):
Edgee's Gateway OpenAPI description and Pulumi's package metaschema. A clone without
them skips the tests that read them, saying why; CI (`CI=true`), which puts a copy
there, fails instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[2] / "shared" / "reference"


def reference(name: str) -> Path:
    """The reference file `name`; skips (fails in CI) when it is not there."""
    path = FOLDER / name
    if path.is_file():
        return path
    message = (
        f"{name} is not at {path}: put a copy of the project's `shared/` folder beside the "
        "repository to run the tests that read it"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)
