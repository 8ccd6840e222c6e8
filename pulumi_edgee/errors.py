"""The root of the package's own errors: one class catches every failure pulumi-edgee
reports to a program or a tool. Messages say what failed and the fix, never a secret.

* EdgeeError
  + ConsoleError - the Console API client's failures (their tree: `console/errors.py`)
  + SettingsError - provider settings that cannot be used (`settings`)
  + ApiKeyError - a lifecycle step that failed (`lifecycle`)
  + AdoptionError - a key that cannot be adopted as declared (`takeover`)
  + KeyLookupError - a lookup that failed (`key_finder`)
    - NoMatchError - no key has the id or name asked for
    - SeveralMatchesError - more than one key has the name asked for
  + ExportError - a file given to the report that is not a stack export (`report`)

Not under it: the plugin's `PluginError`, which carries a gRPC status to the engine and
never leaves the plugin server, and the emulator's errors, which the emulator answers as
HTTP statuses.
"""

from __future__ import annotations


class EdgeeError(Exception):
    """Any failure pulumi-edgee reports."""
