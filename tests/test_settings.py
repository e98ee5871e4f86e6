from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from common.settings import ConfigurationError, Settings, load_settings


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


TOKEN = "tk~Q9^zW|vX7{jR}"  # nothing in an error message could contain a 4-character piece of it


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    """No roomkeeper variable from the caller's environment, and no .env in the working directory."""
    for name in list(os.environ):
        if name.startswith(("TWILIO_", "ROOMKEEPER_", "TEMPORAL_", "CALCOM_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def problems(**env: str) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**env)
    assert TOKEN[:4] not in str(caught.value)
    return caught.value.problems


def test_a_settings_error_names_the_variable_and_never_quotes_a_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    clean_env.setenv("TWILIO_API_KEY", "SK" + "2" * 32)
    # pydantic's own error would print input_value={'TWILIO_AUTH_TOKEN': 'tk~Q...', ...}
    with pytest.raises(ValidationError, match="input_value"):
        Settings(_env_file=None)
    assert problems() == ["TWILIO_API_KEY and TWILIO_API_SECRET must be set together"]


def test_each_rule_is_one_readable_line(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    clean_env.setenv("TWILIO_ACCOUNT_SID", "AC123")
    clean_env.setenv("TWILIO_API_KEY", "not-a-key")
    clean_env.setenv("TWILIO_API_SECRET", TOKEN)
    clean_env.setenv("TWILIO_VIDEO_BASE_URL", "video.twilio.com")
    clean_env.setenv("ROOMKEEPER_PUBLIC_URL", "ftp://example.com")
    clean_env.setenv("ROOMKEEPER_METRICS_PORT", "ninety")
    assert problems() == [
        "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits",
        "TWILIO_API_KEY must be SK followed by 32 hex digits (the API key's SID, not its secret)",
        "TWILIO_VIDEO_BASE_URL must be an http:// or https:// URL with a host",
        "ROOMKEEPER_PUBLIC_URL must be an http:// or https:// URL with a host",
        "ROOMKEEPER_METRICS_PORT must be a valid integer, unable to parse string as an integer",
    ]
    clean_env.delenv("TWILIO_ACCOUNT_SID")
    clean_env.delenv("TWILIO_API_KEY")
    clean_env.delenv("TWILIO_VIDEO_BASE_URL")
    clean_env.delenv("ROOMKEEPER_PUBLIC_URL")
    clean_env.setenv("ROOMKEEPER_METRICS_PORT", "70000")
    # Rules across variables are checked once each variable is valid on its own.
    assert problems() == ["ROOMKEEPER_METRICS_PORT must be less than or equal to 65535"]
    clean_env.delenv("ROOMKEEPER_METRICS_PORT")
    assert problems() == ["TWILIO_API_KEY and TWILIO_API_SECRET must be set together"]


def test_empty_variables_count_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TWILIO_VIDEO_BASE_URL", "")
    clean_env.setenv("ROOMKEEPER_TASK_QUEUE", "")
    settings = load_settings()
    assert settings.twilio_video_base_url == "https://video.twilio.com"
    assert settings.task_queue == "room-lifecycle"


def test_secrets_dir_problems_are_errors(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    clean_env.setenv("ROOMKEEPER_SECRETS_DIR", str(tmp_path / "absent"))
    assert problems() == [f"ROOMKEEPER_SECRETS_DIR ({tmp_path / 'absent'}) does not exist"]

    (tmp_path / "a-file").write_text("x")
    clean_env.setenv("ROOMKEEPER_SECRETS_DIR", str(tmp_path / "a-file"))
    assert problems() == [f"ROOMKEEPER_SECRETS_DIR ({tmp_path / 'a-file'}) is not a directory"]

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "twilio_auth_token").write_bytes(TOKEN.encode() + b"\xff\xfe")
    (secrets / "twilio_api_secret").mkdir()
    (secrets / "calcom_webhook_secret").symlink_to(tmp_path / "nowhere")
    (tmp_path / "outside").write_text(TOKEN)
    (secrets / "twilio_api_key").symlink_to(tmp_path / "outside")
    (secrets / "unrelated").write_bytes(b"\xff")
    clean_env.setenv("ROOMKEEPER_SECRETS_DIR", str(secrets))
    where = f"ROOMKEEPER_SECRETS_DIR ({secrets})"
    assert problems() == [
        f"{where}: calcom_webhook_secret is a broken link",
        f"{where}: twilio_api_key points outside the directory, so it is not read",
        f"{where}: twilio_api_secret is not a file",
        f"{where}: twilio_auth_token is not UTF-8 text",
    ]


def test_env_file_problems_are_errors(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"TWILIO_AUTH_TOKEN=" + TOKEN.encode() + b"\xff\n")
    assert problems() == [".env is not UTF-8 text"]
    env_file.write_text(f"TWILIO_AUTH_TOKEN={TOKEN}\nthis is not a setting\n'unterminated=\n")
    assert problems() == [".env line 2 is not NAME=value", ".env line 3 is not NAME=value"]
    env_file.write_text(f"TWILIO_API_SECRET={TOKEN}\n")
    assert problems() == ["TWILIO_API_KEY and TWILIO_API_SECRET must be set together"]
    env_file.unlink()
    env_file.mkdir()  # a virtualenv called .env is no settings file
    assert load_settings().twilio_auth_token is None


def test_load_settings_reads_the_secrets_dir_named_in_the_environment(
    clean_env: pytest.MonkeyPatch, tmp_path
) -> None:
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "twilio_auth_token").write_text(TOKEN + "\n")
    (secrets / "README").write_text("files for no setting are ignored")
    clean_env.setenv("ROOMKEEPER_SECRETS_DIR", str(secrets))
    clean_env.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    settings = load_settings()
    assert settings.twilio_credentials().password.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings)


def test_unreadable_files_are_named_without_their_content(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    # The tests run as root, for whom permissions never refuse a read: refuse it here instead.
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "twilio_auth_token").write_text(TOKEN)
    (tmp_path / ".env").write_text(f"CALCOM_WEBHOOK_SECRET={TOKEN}\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    clean_env.setattr(Path, "read_bytes", refuse)
    clean_env.setenv("ROOMKEEPER_SECRETS_DIR", str(secrets))
    assert problems() == [
        f"ROOMKEEPER_SECRETS_DIR ({secrets}): twilio_auth_token cannot be read: Permission denied",
        ".env cannot be read: Permission denied",
    ]
