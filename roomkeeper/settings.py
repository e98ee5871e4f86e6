"""roomkeeper's configuration, read once from the environment (or a ``.env`` file) at the edge.

Secrets are ``SecretStr``: they never appear in reprs or logs. They may also come from files in the
directory named by ``ROOMKEEPER_SECRETS_DIR`` (one file per variable, e.g. ``twilio_auth_token``).
"""

from __future__ import annotations

import os

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from twilio_video import limits
from twilio_video.client import TwilioCredentials


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        secrets_dir=os.environ.get("ROOMKEEPER_SECRETS_DIR") or None,
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

    task_queue: str = Field("room-lifecycle", validation_alias=_env("ROOMKEEPER_TASK_QUEUE"))
    public_url: str = Field("http://127.0.0.1:8000", validation_alias=_env("ROOMKEEPER_PUBLIC_URL"))
    metrics_port: int = Field(9464, validation_alias=_env("ROOMKEEPER_METRICS_PORT"))
    calcom_webhook_secret: SecretStr | None = Field(None, validation_alias=_env("CALCOM_WEBHOOK_SECRET"))

    @model_validator(mode="after")
    def _api_key_comes_with_its_secret(self) -> Settings:
        if (self.twilio_api_key is None) != (self.twilio_api_secret is None):
            raise ValueError("TWILIO_API_KEY and TWILIO_API_SECRET must be set together")
        return self

    def twilio_credentials(self) -> TwilioCredentials:
        """Credentials for the Twilio client; an API key wins over the auth token when both are set."""
        if not self.twilio_account_sid:
            raise ValueError("TWILIO_ACCOUNT_SID is not set")
        if self.twilio_api_key and self.twilio_api_secret:
            return TwilioCredentials.from_api_key(
                self.twilio_account_sid, self.twilio_api_key, self.twilio_api_secret.get_secret_value()
            )
        if self.twilio_auth_token:
            return TwilioCredentials.from_auth_token(
                self.twilio_account_sid, self.twilio_auth_token.get_secret_value()
            )
        raise ValueError("set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET")
