"""The `edgee` provider plugin's gRPC service: the engine's calls mapped onto the same
lifecycle the dynamic provider uses.

Only the adapter differs from `pulumi_edgee.provider`: plain config names instead of
namespaced ones, secrets kept wrapped on the wire, a detailed diff, previews of create
and update, Read for import with only an id, and the two functions. Every answer's
failure is one line with a meaningful gRPC code (see `errors`).
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any, TypeVar

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.output import contains_unknowns
from pulumi.runtime import rpc
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from .. import key_finder, notices
from .._version import __version__
from ..functions import GET_API_KEY, GET_API_KEYS
from ..properties import Change
from ..redaction import redact, secret_values
from ..registry import API_KEY, BY_TOKEN, RESOURCES, Resource
from ..results import Diff, Kind, PropertyChange
from ..session import Session, session_for
from ..settings import (
    API_TOKEN,
    CONFIG_SOURCES,
    CONSOLE_URL,
    ORGANIZATION_ID,
    Settings,
    SettingsError,
    Source,
    canonical,
    resolve,
)
from .errors import PluginError, status_of
from .log import EngineLog
from .wire import decode, encode


def _name(source: Source) -> str:
    """A setting's name as the engine sends provider config: `apiToken`."""
    return source.config_key.partition(":")[2]


_SOURCES = {_name(source): source for source in CONFIG_SOURCES}
_TOKEN_NAME = _name(API_TOKEN)
_REPLACING_CONFIG = frozenset({_name(ORGANIZATION_ID), _name(CONSOLE_URL)})

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


def _answer(
    method: Callable[[EdgeeProvider, _Request, grpc.ServicerContext], _Response],
) -> Callable[[EdgeeProvider, _Request, grpc.ServicerContext], _Response]:
    """Turn any failure into one line and a gRPC code; the token is masked in it."""

    @functools.wraps(method)
    def wrapper(self: EdgeeProvider, request: _Request, context: grpc.ServicerContext) -> Any:
        urn = str(getattr(request, "urn", ""))

        def to_engine(level: notices.Level, message: str) -> None:
            getattr(self._log, level)(message, urn)

        try:
            with notices.sent_to(to_engine):
                return method(self, request, context)
        except Exception as error:  # every failure reaches the engine as one clear line
            code, message = status_of(error, *self.secrets(), *_secret_inputs(request))
            context.abort(code, message)

    return wrapper


# The request fields that carry properties (inputs, old outputs, function arguments).
_PROPERTY_FIELDS = ("news", "olds", "properties", "inputs", "args")


def _secret_inputs(request: object) -> tuple[str, ...]:
    """The text values a request marks secret: kept out of every answer's message."""
    values: list[str] = []
    for field in _PROPERTY_FIELDS:
        struct = getattr(request, field, None)
        if isinstance(struct, struct_pb2.Struct):
            props, secret = decode(struct)
            values += secret_values(props, secret)
    return tuple(values)


def _failures(
    request: object, failures: Iterable[tuple[str, str]]
) -> list[provider_pb2.CheckFailure]:
    """Check failures for the engine, in the schema's words, with the request's secret
    values masked."""
    secrets = _secret_inputs(request)
    return [
        provider_pb2.CheckFailure(property=prop, reason=redact(_schema_words(reason), secrets))
        for prop, reason in failures
    ]


# The reasons name properties as Python programs spell them (`max_usage`); every other
# language spells them as the schema does (`maxUsage`).
_SCHEMA_SPELLING = {
    f"`{p.python}`": f"`{p.wire}`" for row in RESOURCES for p in row.props if p.python != p.wire
}


def _schema_words(reason: str) -> str:
    for python, wire in _SCHEMA_SPELLING.items():
        reason = reason.replace(python, wire)
    return reason


def _schema_text() -> str:
    return resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")


def _config_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Config as the engine sends it, keyed by plain name (`apiToken`); tolerates the
    namespaced spellings (`edgee:apiToken`, `edgee:config:apiToken`)."""
    plain: dict[str, Any] = {}
    for key, value in values.items():
        name = key.rpartition(":")[2]
        if name in _SOURCES:
            plain[name] = value
    return plain


def _canonical_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Config as `resolve` reads it, so that two spellings of one setting compare equal
    (`https://API.edgee.app:443/` and `https://api.edgee.app`)."""
    return {
        name: canonical(_SOURCES[name], value) if isinstance(value, str) else value
        for name, value in _config_values(values).items()
    }


def _settings(config: Mapping[str, Any]) -> Settings:
    """Settings from config, else the environment (the engine passes the CLI's)."""
    namespaced = {
        _SOURCES[name].config_key: None if value is None else str(value)
        for name, value in config.items()
    }
    return resolve(namespaced)


def _named_setting(message: str) -> str:
    """The config name a settings problem is about (the first one the message names)."""
    found = [
        (min(at), name)
        for name, source in _SOURCES.items()
        if (
            at := [
                i for i in (message.find(source.config_key), message.find(source.env_var)) if i >= 0
            ]
        )
    ]
    return min(found)[1] if found else _TOKEN_NAME


def _inputs_from(row: Resource, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs that would make exactly this resource: what import and refresh hand back."""
    return {p.wire: outputs[p.wire] for p in row.input_props if outputs.get(p.wire) is not None}


_KINDS = {
    (Kind.ADD, False): provider_pb2.PropertyDiff.ADD,
    (Kind.ADD, True): provider_pb2.PropertyDiff.ADD_REPLACE,
    (Kind.DELETE, False): provider_pb2.PropertyDiff.DELETE,
    (Kind.DELETE, True): provider_pb2.PropertyDiff.DELETE_REPLACE,
    (Kind.UPDATE, False): provider_pb2.PropertyDiff.UPDATE,
    (Kind.UPDATE, True): provider_pb2.PropertyDiff.UPDATE_REPLACE,
}


def _diff_answer(found: Diff) -> provider_pb2.DiffResponse:
    """A detailed diff: each changed property with what it does; none means no change."""
    answers = provider_pb2.DiffResponse
    return answers(
        changes=answers.DIFF_SOME if found.changed else answers.DIFF_NONE,
        replaces=found.replaces,
        diffs=list(found.changes),
        detailedDiff={
            name: provider_pb2.PropertyDiff(kind=_KINDS[change.kind, change.replaces])
            for name, change in found.changes.items()
        },
        hasDetailedDiff=True,
        deleteBeforeReplace=False,
    )


class EdgeeProvider(provider_pb2_grpc.ResourceProviderServicer):
    """One per plugin process: the engine configures it once per command."""

    def __init__(self, log: EngineLog) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._token: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an answer: the Console token, once known."""
        return (self._token,) if self._token else ()

    def _configured(self) -> Session:
        with self._lock:
            session = self._session
        if session is None:
            raise PluginError(
                grpc.StatusCode.FAILED_PRECONDITION,
                "the Edgee provider's configuration is not known yet (it depends on values "
                "computed during this update); run `pulumi up` again once they exist",
            )
        return session

    def _remember_token(self, config: Mapping[str, Any]) -> None:
        token = config.get(_TOKEN_NAME) or os.environ.get(API_TOKEN.env_var)
        if isinstance(token, str) and token.strip():
            with self._lock:
                self._token = token.strip()

    # -- plugin and configuration --------------------------------------------------------

    def GetPluginInfo(
        self, request: empty_pb2.Empty, context: grpc.ServicerContext
    ) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=__version__)

    @_answer
    def GetSchema(
        self, request: provider_pb2.GetSchemaRequest, context: grpc.ServicerContext
    ) -> provider_pb2.GetSchemaResponse:
        return provider_pb2.GetSchemaResponse(schema=_schema_text())

    @_answer
    def CheckConfig(
        self, request: provider_pb2.CheckRequest, context: grpc.ServicerContext
    ) -> provider_pb2.CheckResponse:
        """A missing or unusable setting is a failure naming it; the token and the
        organization are proven by one cheap Console request, so a preview fails before
        any key is touched."""
        news, secret = decode(request.news)
        config = _config_values(news)
        self._remember_token(config)
        secret_names = {_TOKEN_NAME} | {n for n in secret if n in _SOURCES}
        inputs = encode(news, secret_names)
        if any(contains_unknowns(v) for v in config.values()):
            return provider_pb2.CheckResponse(inputs=inputs)
        try:
            problem = session_for(_settings(config)).access_problem()
        except SettingsError as error:
            failure = (_named_setting(str(error)), str(error))
        else:
            if problem is None:
                return provider_pb2.CheckResponse(inputs=inputs)
            failure = (_name(problem[0]), problem[1])
        _, message = status_of(PluginError(grpc.StatusCode.OK, failure[1]), *self.secrets())
        return provider_pb2.CheckResponse(
            inputs=inputs,
            failures=[provider_pb2.CheckFailure(property=failure[0], reason=message)],
        )

    @_answer
    def DiffConfig(
        self, request: provider_pb2.DiffRequest, context: grpc.ServicerContext
    ) -> provider_pb2.DiffResponse:
        """A new token updates the provider; another organization or Console URL replaces
        it (its keys live elsewhere), but only when both sides name one: a value that moved
        between stack config and the environment is not a change of place."""
        olds = _canonical_config(decode(request.olds)[0])
        news = _canonical_config(decode(request.news)[0])
        changed = sorted(
            name
            for name in _SOURCES
            if contains_unknowns(news.get(name)) or olds.get(name) != news.get(name)
        )
        replaces = [
            name
            for name in changed
            if name in _REPLACING_CONFIG and olds.get(name) is not None and news.get(name)
        ]
        return _diff_answer(
            Diff({name: PropertyChange(Kind.UPDATE, name in replaces) for name in changed})
        )

    @_answer
    def Configure(
        self, request: provider_pb2.ConfigureRequest, context: grpc.ServicerContext
    ) -> provider_pb2.ConfigureResponse:
        config = _config_values(dict(request.variables))
        config.update(_config_values(decode(request.args)[0]))
        self._remember_token(config)
        unknown = any(contains_unknowns(v) for v in config.values())
        session = None if unknown else session_for(_settings(config))
        with self._lock:
            self._session = session
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True)

    # -- resources (the registry's rows) ------------------------------------------------

    @staticmethod
    def _resource(urn: str) -> Resource:
        token = urn.split("::")[2].split("$")[-1] if urn.count("::") >= 3 else ""
        found = BY_TOKEN.get(token)
        if found is None:
            served = ", ".join(BY_TOKEN)
            raise PluginError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unknown resource type {token!r}: the edgee provider serves {served}",
            )
        return found

    @_answer
    def Check(
        self, request: provider_pb2.CheckRequest, context: grpc.ServicerContext
    ) -> provider_pb2.CheckResponse:
        row = self._resource(request.urn)
        news, secret = decode(request.news)
        with self._lock:  # a new resource's `adoptId` is checked once the config is known
            session = self._session
        result = row.lifecycle().check(news, decode(request.olds)[0], session)
        return provider_pb2.CheckResponse(
            inputs=encode(result.inputs or {}, secret),
            failures=_failures(request, result.failures),
        )

    @_answer
    def Diff(
        self, request: provider_pb2.DiffRequest, context: grpc.ServicerContext
    ) -> provider_pb2.DiffResponse:
        """Old outputs against new inputs, property by property, with what each does."""
        row = self._resource(request.urn)
        olds = decode(request.olds)[0]
        news = decode(request.news)[0]
        with self._lock:
            session = self._session  # None: unknown settings, nothing is created
        found = row.lifecycle().diff(olds, news, request.id, session, set(request.ignoreChanges))
        return _diff_answer(found)

    @_answer
    def Create(
        self, request: provider_pb2.CreateRequest, context: grpc.ServicerContext
    ) -> provider_pb2.CreateResponse:
        row = self._resource(request.urn)
        props, secret = decode(request.properties)
        if request.preview:
            return provider_pb2.CreateResponse(
                properties=encode(self._preview_create(row, props), secret | row.secret_outputs)
            )
        result = row.lifecycle().create(self._configured(), props)
        self._log.debug(f"created API key {result.id}", request.urn)
        return provider_pb2.CreateResponse(
            id=str(result.id), properties=encode(result.outputs, secret | row.secret_outputs)
        )

    def _preview_create(self, row: Resource, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """A new resource's outputs before it exists: the inputs and the organization are
        known, everything the Console API decides is unknown."""
        outputs: dict[str, Any] = {p.wire: inputs.get(p.wire) for p in row.input_props}
        outputs.update({p.wire: rpc.UNKNOWN for p in row.props if p.change is Change.OUTPUT_ONLY})
        with self._lock:
            session = self._session
        if session is not None:
            outputs["organizationId"] = session.settings.organization_id
        return outputs

    @_answer
    def Read(
        self, request: provider_pb2.ReadRequest, context: grpc.ServicerContext
    ) -> provider_pb2.ReadResponse:
        """Refresh (old outputs and inputs given) or import (only an id): both answer with
        outputs and inputs; an import of an id that does not exist is an error."""
        row = self._resource(request.urn)
        props, output_secret = decode(request.properties)
        old_inputs, input_secret = decode(request.inputs)
        secret = output_secret | input_secret
        importing = not props and not old_inputs
        result = row.lifecycle().read(self._configured(), request.id, props)
        if not result.id:
            if importing:
                raise PluginError(
                    grpc.StatusCode.NOT_FOUND,
                    f"API key {request.id!r} does not exist in organization "
                    f"{self._configured().settings.organization_id!r}: check the id (the "
                    "Edgee Console lists each key's id)",
                )
            self._log.info(f"API key {request.id} no longer exists", request.urn)
            return provider_pb2.ReadResponse()
        outs = result.outputs
        if importing:
            self._log.warning(
                f"imported API key {request.id}: its `email` cannot be read from the Console "
                "API; if the program sets one, the next `pulumi up` applies it in place",
                request.urn,
            )
        return provider_pb2.ReadResponse(
            id=str(result.id),
            properties=encode(outs, secret | row.secret_outputs),
            inputs=encode(_inputs_from(row, outs), secret),
        )

    @_answer
    def Update(
        self, request: provider_pb2.UpdateRequest, context: grpc.ServicerContext
    ) -> provider_pb2.UpdateResponse:
        row = self._resource(request.urn)
        olds, old_secret = decode(request.olds)
        news, secret = decode(request.news)
        secret_names = old_secret | secret | row.secret_outputs
        if request.preview:
            merged = row.lifecycle().preview_update(olds, news)
            return provider_pb2.UpdateResponse(properties=encode(merged, secret_names))
        outs = row.lifecycle().update(self._configured(), request.id, olds, news)
        return provider_pb2.UpdateResponse(properties=encode(outs, secret_names))

    @_answer
    def Delete(
        self, request: provider_pb2.DeleteRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        row = self._resource(request.urn)
        row.lifecycle().delete(self._configured(), request.id, decode(request.properties)[0])
        return empty_pb2.Empty()

    # -- functions -------------------------------------------------------------------------

    @_answer
    def Invoke(
        self, request: provider_pb2.InvokeRequest, context: grpc.ServicerContext
    ) -> provider_pb2.InvokeResponse:
        args = decode(request.args)[0]
        if request.tok == GET_API_KEY:
            failures = _failures(request, _get_api_key_failures(args))
            if failures:
                return provider_pb2.InvokeResponse(failures=failures)
            reveal = bool(args.get("reveal"))
            found = key_finder.get_api_key(
                self._configured(), id=args.get("id"), name=args.get("name"), reveal=reveal
            )
            return provider_pb2.InvokeResponse(**{"return": encode(found, API_KEY.secret_outputs)})
        if request.tok == GET_API_KEYS:
            failures = _failures(request, _argument_failures(GET_API_KEYS, args))
            if failures:
                return provider_pb2.InvokeResponse(failures=failures)
            keys = key_finder.get_api_keys(
                self._configured(), name_prefix=args.get("namePrefix"), type=args.get("type")
            )
            return provider_pb2.InvokeResponse(**{"return": encode({"keys": keys})})
        raise PluginError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"unknown function {request.tok!r}: the edgee provider serves {GET_API_KEY} and "
            f"{GET_API_KEYS}",
        )

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        return empty_pb2.Empty()


# The argument types the functions' schema uses, as TypeScript, Go or YAML users read
# them, with the Python values that have them.
_SCHEMA_TYPES: dict[str, type] = {"string": str, "boolean": bool}


@functools.cache
def _function_arguments(token: str) -> dict[str, Any]:
    """The declared arguments of a function, each with its `$ref` enum type resolved."""
    schema = json.loads(_schema_text())
    declared: dict[str, Any] = schema["functions"][token]["inputs"]["properties"]
    types = schema.get("types", {})
    return {
        name: types.get(spec.get("$ref", "").removeprefix("#/types/"), spec)
        for name, spec in declared.items()
    }


def _argument_failures(token: str, args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Arguments the function does not declare, or whose value its schema does not allow,
    each named with what is allowed, in the schema's words (string, boolean, ...)."""
    declared = _function_arguments(token)
    failures = [
        (name, f"`{name}` is not an argument of {token} (it takes {', '.join(declared)})")
        for name in args
        if name not in declared
    ]
    for name, spec in declared.items():
        value = args.get(name)
        if value is None:
            continue
        allowed = [e["value"] for e in spec.get("enum", ())]
        kind = spec["type"]
        if allowed and value not in allowed:
            listed = ", ".join(f"`{v}`" for v in allowed)
            reason = f"`{name}` must be one of {listed}, not {json.dumps(value)}"
        elif not isinstance(value, _SCHEMA_TYPES[kind]):
            reason = f"`{name}` must be a {kind}, not {json.dumps(value)}"
        else:
            continue
        failures.append((name, reason))
    return failures


def _get_api_key_failures(args: Mapping[str, Any]) -> list[tuple[str, str]]:
    failures = _argument_failures(GET_API_KEY, args)
    if not failures and (args.get("id") is None) == (args.get("name") is None):
        failures.append(("id", "give exactly one of `id` and `name` to look up an API key"))
    return failures
