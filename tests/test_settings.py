from __future__ import annotations

import pytest
from pydantic import ValidationError

from roomkeeper.settings import Settings


def test_defaults_follow_the_product_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TEMPORAL_ADDRESS",
        "ROOMKEEPER_TASK_QUEUE",
        "ROOMKEEPER_METRICS_PORT",
        "TWILIO_VIDEO_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.temporal_address == "localhost:7233"
    assert settings.temporal_namespace == "default"
    assert settings.task_queue == "room-lifecycle"
    assert settings.metrics_port == 9464
    assert settings.twilio_video_base_url == "https://video.twilio.com"


def test_api_key_wins_and_secrets_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token-value")
    monkeypatch.setenv("TWILIO_API_KEY", "SK" + "2" * 32)
    monkeypatch.setenv("TWILIO_API_SECRET", "secret-value")
    settings = Settings(_env_file=None)
    credentials = settings.twilio_credentials()
    assert credentials.username == "SK" + "2" * 32
    assert credentials.password.get_secret_value() == "secret-value"
    assert "secret-value" not in repr(settings) and "token-value" not in repr(settings)


def test_secrets_can_come_from_files(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "twilio_auth_token").write_text("from-a-file")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("TWILIO_API_KEY", raising=False)
    monkeypatch.delenv("TWILIO_API_SECRET", raising=False)
    settings = Settings(_env_file=None, _secrets_dir=tmp_path)
    assert settings.twilio_credentials().password.get_secret_value() == "from-a-file"


def test_half_an_api_key_is_rejected_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_API_KEY", "SK" + "2" * 32)
    monkeypatch.delenv("TWILIO_API_SECRET", raising=False)
    with pytest.raises(ValidationError, match="TWILIO_API_KEY and TWILIO_API_SECRET must be set together"):
        Settings(_env_file=None)


def test_missing_credentials_say_which(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="TWILIO_ACCOUNT_SID is not set"):
        Settings(_env_file=None).twilio_credentials()
