"""What a user sees at `pulumi preview` when a setting or a property is wrong, through both
front doors: one line naming it and the fix, no Python traceback, nothing created."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pulumi_edgee.testing import EmulatorHandle
from pulumi_edgee.testing.cli import CliStack

from .support import console_writes, edit_file


@dataclass(frozen=True)
class Mistake:
    """A wrong setting or property, and what the one line about it must say."""

    make: Callable[[CliStack, EmulatorHandle], None]
    says: tuple[str, ...]


def wrong_token(stack: CliStack, _emulator: EmulatorHandle) -> None:
    stack.set_config("edgee:apiToken", "tok_not_the_right_one_42", secret=True)


def wrong_organization(stack: CliStack, _emulator: EmulatorHandle) -> None:
    stack.set_config("edgee:organizationId", "org_elsewhere")


def remote_http_url(stack: CliStack, _emulator: EmulatorHandle) -> None:
    stack.set_config("edgee:consoleUrl", "http://console.example.com")


def bad_property(stack: CliStack, _emulator: EmulatorHandle) -> None:
    if (stack.project_dir / "__main__.py").exists():
        stack.set_config("backendMaxUsage", "-5")
    else:
        edit_file(stack.project_dir / "Pulumi.yaml", "maxUsage: 1000", "maxUsage: -5")


MISTAKES = {
    "wrong token": Mistake(wrong_token, ("edgee:apiToken", "EDGEE_CONSOLE_API_TOKEN")),
    "wrong organization": Mistake(wrong_organization, ("org_elsewhere", "edgee:organizationId")),
    "http remote url": Mistake(remote_http_url, ("edgee:consoleUrl", "https://")),
    "bad property": Mistake(bad_property, ("ax", "sage", "greater than or equal to 1")),
}


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
@pytest.mark.parametrize("front_door", ["quickstart", "yaml_example"])
def test_a_mistake_fails_the_preview_in_one_line(
    mistake: Mistake, front_door: str, request: pytest.FixtureRequest, emulator: EmulatorHandle
) -> None:
    stack: CliStack = request.getfixturevalue(front_door)
    mistake.make(stack, emulator)
    preview = stack.run("preview", check=False)
    assert preview.returncode != 0
    assert "Traceback" not in preview.output
    error_lines = [
        line for line in preview.output.splitlines() if all(part in line for part in mistake.says)
    ]
    assert error_lines, preview.output
    up = stack.run("up", "--yes", check=False)
    assert up.returncode != 0
    assert [k for k in emulator.keys() if k["name"] == "Production Backend"] == []
    assert console_writes(emulator) == []


SECRET_NAME = "svc-hidden-name-7f3a"


def give_the_name_as_a_secret(stack: CliStack) -> None:
    """The backend key's `name` as a Pulumi secret: secret config in Python, `fn::secret`
    in YAML."""
    main = stack.project_dir / "__main__.py"
    if main.exists():
        edit_file(
            main,
            'name=config.get("backendName") or "Production Backend"',
            'name=config.require_secret("backendName")',
        )
        stack.set_config("backendName", SECRET_NAME, secret=True)
    else:
        edit_file(
            stack.project_dir / "Pulumi.yaml",
            "name: Production Backend",
            f"name:\n        fn::secret: {SECRET_NAME}",
        )


@pytest.mark.parametrize("front_door", ["quickstart", "yaml_example"])
def test_a_secret_input_stays_out_of_a_failed_up(
    front_door: str, request: pytest.FixtureRequest, emulator: EmulatorHandle
) -> None:
    """A create the Console keeps failing: the error names the step, never the value."""
    stack: CliStack = request.getfixturevalue(front_door)
    give_the_name_as_a_secret(stack)
    emulator.add_fault(
        "server_error", method="POST", path=r"/v1/organizations/[^/]+/api_keys", count=None
    )
    up = stack.run("up", "--yes", check=False)
    assert up.returncode != 0
    assert "creating API key" in up.output
    assert SECRET_NAME not in up.output
    assert SECRET_NAME not in json.dumps(stack.export())
    assert [k for k in emulator.keys() if k["name"] == SECRET_NAME] == []
