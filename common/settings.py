"""roomkeeper's configuration, read once from the environment (or a ``.env`` file) at the edge.

Secrets are ``SecretStr``: they never appear in reprs or logs. They may also come from files in the
directory named by ``ROOMKEEPER_SECRETS_DIR`` (one file per variable, e.g. ``twilio_auth_token``).

Processes load settings with ``load_settings`` (or ``settings_or_exit``), never by letting pydantic's
``ValidationError`` escape: its text repeats the input, secrets included (``input_value={'TWILIO_AUTH_
TOKEN': 'se...``). A ``ConfigurationError`` instead says, one line per problem, which variable breaks
which rule, and never carries a value.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, NoReturn

from dotenv.parser import parse_stream
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from common.event_endpoints import EndpointsError, EventEndpoints, check_http_url
from common.extend_policy import (
    MAX_EXTENSION_MINUTES,
    MAX_EXTENSIONS,
    MAX_TOTAL_EXTENSION_MINUTES,
    DeploymentCaps,
)
from twilio_video import limits
from twilio_video.client import TwilioCredentials
from twilio_video.sids import is_sid

SECRETS_DIR_VARIABLE = "ROOMKEEPER_SECRETS_DIR"
#: How processes write their log (``roomkeeper.logs``): lines for people, or one JSON object a line.
LogFormat = Literal["text", "json"]
#: ``ROOMKEEPER_TOKEN_GRACE_SECONDS``'s default: a join token outlives its meeting's end by five minutes.
DEFAULT_TOKEN_GRACE_SECONDS = 300
ENV_FILE = ".env"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class ConfigurationError(ValueError):
    """Settings that cannot work. ``problems`` are one-line sentences naming a variable and a rule, and
    never contain a value (so no part of a secret)."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class Settings(BaseSettings):
    """Every setting of every roomkeeper process; the variable names are the product's contract."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE,
        extra="ignore",
        populate_by_name=True,
        # An exported-but-empty variable means "not set", as shells and container specs use it.
        env_ignore_empty=True,
    )

    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_api_key: str | None = Field(None, validation_alias=_env("TWILIO_API_KEY"))
    twilio_api_secret: SecretStr | None = Field(None, validation_alias=_env("TWILIO_API_SECRET"))
    twilio_video_base_url: str = Field(
        limits.PRODUCTION_BASE_URL, validation_alias=_env("TWILIO_VIDEO_BASE_URL")
    )

    temporal_address: str = Field("localhost:7233", validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field("default", validation_alias=_env("TEMPORAL_NAMESPACE"))

    task_queue: str = Field("room-lifecycle", min_length=1, validation_alias=_env("ROOMKEEPER_TASK_QUEUE"))
    public_url: str = Field("http://127.0.0.1:8000", validation_alias=_env("ROOMKEEPER_PUBLIC_URL"))
    metrics_port: int = Field(9464, ge=0, le=65535, validation_alias=_env("ROOMKEEPER_METRICS_PORT"))
    #: Where the worker's /metrics, /healthz and /readyz listen: every interface, so Prometheus and the
    #: kubelet can reach a container; ``dev`` listens on loopback only (its ``--metrics-host``).
    metrics_host: str = Field("0.0.0.0", min_length=1, validation_alias=_env("ROOMKEEPER_METRICS_HOST"))
    log_format: LogFormat = Field("text", validation_alias=_env("ROOMKEEPER_LOG_FORMAT"))
    calcom_webhook_secret: SecretStr | None = Field(None, validation_alias=_env("CALCOM_WEBHOOK_SECRET"))
    #: Room options per Cal.com event type (TOML or JSON); read and checked by the gateway at start.
    calcom_event_types: Path | None = Field(None, validation_alias=_env("ROOMKEEPER_CALCOM_EVENT_TYPES"))
    api_token: SecretStr | None = Field(None, validation_alias=_env("ROOMKEEPER_API_TOKEN"))
    #: How long a join token stays valid after its meeting's end (docs/app-developers.md).
    token_grace_seconds: int = Field(
        DEFAULT_TOKEN_GRACE_SECONDS,
        ge=0,
        le=limits.MAX_ACCESS_TOKEN_LIFETIME_SECONDS,
        validation_alias=_env("ROOMKEEPER_TOKEN_GRACE_SECONDS"),
    )
    secret_key: SecretStr | None = Field(None, validation_alias=_env("ROOMKEEPER_SECRET_KEY"))
    #: Lifecycle events (docs/app-developers.md): the default receiver, its Standard Webhooks secret(s),
    #: and a JSON file of further receivers; read by the worker (``common.event_endpoints``).
    events_url: str | None = Field(None, validation_alias=_env("ROOMKEEPER_EVENTS_URL"))
    events_secret: SecretStr | None = Field(None, validation_alias=_env("ROOMKEEPER_EVENTS_SECRET"))
    events_endpoints: Path | None = Field(None, validation_alias=_env("ROOMKEEPER_EVENTS_ENDPOINTS"))
    #: The deployment's caps on extending a meeting (docs/meetings.md); a meeting may set stricter ones.
    extend_max_minutes: int | None = Field(
        None, ge=1, le=MAX_EXTENSION_MINUTES, validation_alias=_env("ROOMKEEPER_EXTEND_MAX_MINUTES")
    )
    extend_max_count: int | None = Field(
        None, ge=0, le=MAX_EXTENSIONS, validation_alias=_env("ROOMKEEPER_EXTEND_MAX_COUNT")
    )
    extend_max_total_minutes: int | None = Field(
        None,
        ge=0,
        le=MAX_TOTAL_EXTENSION_MINUTES,
        validation_alias=_env("ROOMKEEPER_EXTEND_MAX_TOTAL_MINUTES"),
    )

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid_shape(cls, value: str | None) -> str | None:
        if value is not None and not is_sid(value, "AC"):
            raise ValueError("must be AC followed by 32 hex digits")
        return value

    @field_validator("twilio_api_key")
    @classmethod
    def _api_key_shape(cls, value: str | None) -> str | None:
        if value is not None and not is_sid(value, "SK"):
            raise ValueError("must be SK followed by 32 hex digits (the API key's SID, not its secret)")
        return value

    @field_validator("twilio_video_base_url", "public_url", "events_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from common.sealing import SealingError, keys_from

            try:
                keys_from(value.get_secret_value())
            except SealingError as error:  # the message names the key's position, never its text
                raise ValueError(
                    "must hold Fernet keys: " + str(error).removeprefix("ROOMKEEPER_SECRET_KEY: ")
                ) from None
        return value

    @model_validator(mode="after")
    def _api_key_comes_with_its_secret(self) -> Settings:
        if (self.twilio_api_key is None) != (self.twilio_api_secret is None):
            raise ValueError("TWILIO_API_KEY and TWILIO_API_SECRET must be set together")
        return self

    def extend_caps(self) -> DeploymentCaps:
        """The deployment's caps on extending meetings."""
        return DeploymentCaps(
            max_minutes=self.extend_max_minutes,
            max_extensions=self.extend_max_count,
            max_total_minutes=self.extend_max_total_minutes,
        )

    def event_endpoints(self) -> EventEndpoints:
        """The receivers of lifecycle events and their secrets (reads ``ROOMKEEPER_EVENTS_ENDPOINTS``);
        ``ConfigurationError`` if they cannot be used."""
        try:
            return EventEndpoints.load(self.events_url, reveal(self.events_secret), self.events_endpoints)
        except EndpointsError as error:
            raise ConfigurationError(str(error).split("; ")) from None

    def twilio_credentials(self) -> TwilioCredentials:
        """Credentials for the Twilio client; an API key wins over the auth token when both are set."""
        if not self.twilio_account_sid:
            raise ConfigurationError(["TWILIO_ACCOUNT_SID is not set"])
        if self.twilio_api_key and self.twilio_api_secret:
            return TwilioCredentials.from_api_key(
                self.twilio_account_sid, self.twilio_api_key, self.twilio_api_secret.get_secret_value()
            )
        if self.twilio_auth_token:
            return TwilioCredentials.from_auth_token(
                self.twilio_account_sid, self.twilio_auth_token.get_secret_value()
            )
        raise ConfigurationError(["set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET"])


def reveal(secret: SecretStr | None) -> str | None:
    """A secret setting's value, for the one place that needs it (a signature check, a cipher)."""
    return None if secret is None else secret.get_secret_value()


def variable_names() -> dict[str, str]:
    """Every name a setting may be given by (field name, alias) -> its environment variable."""
    names: dict[str, str] = {}
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        assert isinstance(alias, AliasChoices)
        variable = str(alias.choices[0])
        names.update({field_name: variable, variable: variable, variable.lower(): variable})
    return names


_PLAIN_RULES = (("Input should be", "must be"), ("String should", "must"), ("Value should", "must"))


def describe(error: ValidationError) -> list[str]:
    """pydantic's errors as one line each: the variable and the rule it breaks, never the input."""
    names = variable_names()
    problems = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        loc = item["loc"]
        message = item["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across variables: its message names them
            problems.append(message)
            continue
        variable = names.get(str(loc[0]), str(loc[0]))
        if item["type"] == "missing":
            problems.append(f"{variable} is required")
            continue
        for generic, plain in _PLAIN_RULES:
            if message.startswith(generic):
                message = plain + message[len(generic) :]
                break
        problems.append(f"{variable} {message}")
    return problems


def _secret_file_names() -> set[str]:
    return {variable.lower() for variable in variable_names().values()}


def check_secrets_dir(path: Path) -> list[str]:
    """Problems that would stop the secrets directory being read as the operator meant.

    pydantic-settings only warns about most of them and goes on without the secret, which later shows up
    as a confusing "not set"; here each is an error naming the file. Files for no setting are ignored.
    """
    where = f"{SECRETS_DIR_VARIABLE} ({path})"
    if not path.exists():
        return [f"{where} does not exist"]
    if not path.is_dir():
        return [f"{where} is not a directory"]
    try:
        entries = sorted(path.iterdir())
    except OSError as error:
        return [f"{where} cannot be listed: {error.strerror or type(error).__name__}"]
    problems = []
    root = path.resolve()
    wanted = _secret_file_names()
    for entry in entries:
        if entry.name.lower() not in wanted:
            continue
        try:
            resolved = entry.resolve(strict=True)
        except (OSError, RuntimeError):
            problems.append(f"{where}: {entry.name} is a broken link")
            continue
        if root not in resolved.parents:
            problems.append(f"{where}: {entry.name} points outside the directory, so it is not read")
        elif not resolved.is_file():
            problems.append(f"{where}: {entry.name} is not a file")
        else:
            problems.extend(f"{where}: {entry.name} {p}" for p in _unreadable_text(resolved))
    return problems


def check_env_file(path: Path) -> list[str]:
    """Problems with a ``.env`` file: unreadable, not UTF-8, or lines that are not ``NAME=value``.

    A directory of that name is no ``.env`` file (virtualenvs are often called ``.env``): ignored.
    """
    if not path.is_file():
        return []
    problems = _unreadable_text(path)
    if problems:
        return [f"{path} {p}" for p in problems]
    text = path.read_text(encoding="utf-8")
    return [
        f"{path} line {binding.original.line} is not NAME=value"
        for binding in parse_stream(io.StringIO(text))
        if binding.error
    ]


def _unreadable_text(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as error:
        return [f"cannot be read: {error.strerror or type(error).__name__}"]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # Not the decoder's message: it quotes the offending byte, which may belong to a secret.
        return ["is not UTF-8 text"]
    return []


def load_settings(*, env_file: str | Path | None = ENV_FILE, **overrides: Any) -> Settings:
    """Settings from the environment, ``.env`` and ``ROOMKEEPER_SECRETS_DIR``; ``overrides`` win over all.

    Raises ``ConfigurationError`` (never pydantic's errors, which quote secrets) for any problem.
    """
    secrets_dir = os.environ.get(SECRETS_DIR_VARIABLE) or None
    problems = []
    if secrets_dir is not None:
        problems += check_secrets_dir(Path(secrets_dir))
    if env_file is not None:
        problems += check_env_file(Path(env_file))
    if problems:
        raise ConfigurationError(problems)
    try:
        return Settings(_env_file=env_file, _secrets_dir=secrets_dir, **overrides)
    except ValidationError as error:
        raise ConfigurationError(describe(error)) from None
    except PydanticSettingsError as error:
        # Its message names a field and a source; the chained cause may quote the value, so drop it.
        raise ConfigurationError([str(error)]) from None


def exit_for(command: str, error: ConfigurationError) -> NoReturn:
    """Print each problem as ``roomkeeper <command>: <problem>`` on stderr and exit with status 2."""
    for problem in error.problems:
        print(f"roomkeeper {command}: {problem}", file=sys.stderr)
    sys.stderr.flush()
    raise SystemExit(2)


def settings_or_exit(command: str, **overrides: Any) -> Settings:
    """``load_settings`` for a command-line entry point: a configuration problem ends the process."""
    try:
        return load_settings(**overrides)
    except ConfigurationError as error:
        exit_for(command, error)
