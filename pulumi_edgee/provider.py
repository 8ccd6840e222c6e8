"""The dynamic providers the engine calls for Python programs: `ApiKeyProvider` for every
ApiKey, `RotatingApiKeyProvider` for every RotatingApiKey; each the same adapter over its
registry row's lifecycle.

Their module path and class names are stored (pickled by reference) in every resource's
state: moving or renaming them breaks refresh and destroy of existing stacks. An
instance holds nothing: configuration lives in a per-process table, the HTTP client in
`session`, and the decisions in the lifecycle, imported on first call so that building a
program stays light.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from .registry import API_KEY, ROTATING_API_KEY, Lifecycle, Resource

if TYPE_CHECKING:
    from .session import Session
    from .spec import ApiKeySpec

_CONFIG_KEYS = ("edgee:apiToken", "edgee:organizationId", "edgee:consoleUrl")

# Stack config per provider instance of this process (the token never goes on `self`).
_configs: weakref.WeakKeyDictionary[ApiKeyProvider, tuple[tuple[str, str | None], ...]] = (
    weakref.WeakKeyDictionary()
)
_configs_lock = threading.Lock()


class ApiKeyProvider(ResourceProvider):
    """Maps the engine's calls for `edgee:ApiKey` onto the Edgee Console API."""

    # The pickled provider holds no secret, so it need not be a secret in state.
    serialize_as_secret_always = False
    row: ClassVar[Resource] = API_KEY

    def _lifecycle(self) -> Lifecycle:
        return self.row.lifecycle()

    def _spec(self) -> type[ApiKeySpec]:
        """The inputs' model: `check` runs without loading the lifecycle (see `checks`)."""
        from .spec import ApiKeySpec

        return ApiKeySpec

    def configure(self, req: ConfigureRequest) -> None:
        # Kept as the tuple every call looks its session up by (see `session_for_config`).
        config = tuple((key, req.config.get(key)) for key in _CONFIG_KEYS)
        with _configs_lock:
            _configs[self] = config

    def _config(self) -> tuple[tuple[str, str | None], ...]:
        with _configs_lock:
            return _configs.get(self, ())

    def _session(self) -> Session:
        from .session import session_for_config

        return session_for_config(self._config())

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from . import checks
        from .properties import python_name
        from .settings import SettingsError, resolve

        try:
            # Resolved first, so that unusable settings are found without loading the
            # Console client (`_session` resolves them again, from its cache).
            resolve(dict(self._config()))
            session = self._session()
        except SettingsError as error:
            # Unusable settings fail the preview, before any key is touched, as one line
            # (a check failure) rather than at the bottom of a traceback.
            return CheckResult(news, [CheckFailure("", str(error))])
        # So do a wrong token or organization: one request per process, shared by every
        # Check of the command.
        problem = session.access_problem()
        if problem is not None:
            return CheckResult(news, [CheckFailure("", problem[1])])
        adopting = session if news.get("adoptId") is not None else None
        checked = checks.check(news, _olds, adopting, self._spec())
        if not checked.failures:
            return CheckResult(checked.inputs, [])
        from .redaction import declared_secret_values, redact

        secrets = declared_secret_values(news)
        # Only Python programs use a dynamic provider: failures name their Python names.
        failures = [
            CheckFailure(python_name(f.property), redact(f.reason, secrets))
            for f in checked.failures
        ]
        return CheckResult(checked.inputs, failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        from .settings import SettingsError

        try:
            session = self._session()
        except SettingsError:  # `check` has said so; adoption is not noted then
            session = None
        found = self._lifecycle().diff(_olds, _news, key_id=_id, session=session)
        return DiffResult(
            changes=found.changed, replaces=found.replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _secrets_kept_out(props):
            made = self._lifecycle().create(self._session(), props)
        assert made.id is not None
        return CreateResult(made.id, made.outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        found = self._lifecycle().read(self._session(), id_, props)
        return ReadResult(found.id, found.outputs)

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        with _secrets_kept_out(_news):
            return UpdateResult(self._lifecycle().update(self._session(), _id, _olds, _news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        self._lifecycle().delete(self._session(), _id, _props)


class RotatingApiKeyProvider(ApiKeyProvider):
    """Maps the engine's calls for `edgee:RotatingApiKey` onto the Edgee Console API."""

    row: ClassVar[Resource] = ROTATING_API_KEY

    def _spec(self) -> type[ApiKeySpec]:
        from .spec import RotatingApiKeySpec

        return RotatingApiKeySpec


@contextmanager
def _secrets_kept_out(inputs: dict[str, Any]) -> Iterator[None]:
    """Re-raise a failure with the values of the inputs given as secrets masked."""
    try:
        yield
    except Exception as error:
        from .lifecycle import ApiKeyError
        from .redaction import declared_secret_values, redact

        text = str(error)
        shown = redact(text, declared_secret_values(inputs))
        if shown == text:
            raise
        raise ApiKeyError(shown) from None
