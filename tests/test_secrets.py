"""No error path of ``roomkeeper worker``, ``gateway`` or ``dev`` prints any part of a secret.

Every settings error is provoked in real subprocesses with known secrets (auth token, API secret,
Cal.com secret) present in the environment, a ``.env`` file or the secrets directory, sometimes pasted
into the wrong variable; each run must exit 2 with readable one-line problems, and its whole output
must not contain any 4-character piece of any secret. The secrets are made of characters that do not
occur together in log lines, so a match can only be a leak.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.test_dev_env import DevProcess, assert_never_printed, clean_environment

AUTH_TOKEN = "Au}Tk^Zq|Wv~8Xy"
API_SECRET = "Ap{Sc|Rt^Jw~3Kq"
CALCOM_SECRET = "Cc{Hm^Ac|Se~5Rw"
API_TOKEN = "Mt{Ap|Ik^Tn~6Lz"
SECRETS = (AUTH_TOKEN, API_SECRET, CALCOM_SECRET, API_TOKEN)
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
API_KEY = "SK" + "fedcba9876543210" * 2

ALL_IN_ENV = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_API_KEY": API_KEY,
    "TWILIO_API_SECRET": API_SECRET,
    "CALCOM_WEBHOOK_SECRET": CALCOM_SECRET,
    "ROOMKEEPER_API_TOKEN": API_TOKEN,
    # Should a case pass its settings by mistake, it fails fast instead of waiting for Temporal.
    "TEMPORAL_ADDRESS": "127.0.0.1:1",
}


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in ALL_IN_ENV.items() if k not in names}


@dataclass
class Case:
    """A broken configuration, what each command must say about it, and how to lay it out on disk."""

    env: dict[str, str]
    #: command -> the problem line it must print (commands not named are not run for this case)
    says: dict[str, str]
    files: Callable[[Path], dict[str, str]] = field(default=lambda _: {})


def secrets_dir(make: Callable[[Path], None]) -> Callable[[Path], dict[str, str]]:
    def layout(root: Path) -> dict[str, str]:
        make(root / "secrets")
        return {"ROOMKEEPER_SECRETS_DIR": str(root / "secrets")}

    return layout


def env_file(content: bytes) -> Callable[[Path], dict[str, str]]:
    def layout(root: Path) -> dict[str, str]:
        (root / ".env").write_bytes(content)
        return {}

    return layout


def secret_files(**entries: bytes | None) -> Callable[[Path], None]:
    """A secrets directory; ``None`` makes that entry a directory instead of a file."""

    def make(path: Path) -> None:
        path.mkdir()
        for name, content in entries.items():
            if content is None:
                (path / name).mkdir()
            else:
                (path / name).write_bytes(content)

    return make


def a_file_holding(secret: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_text(secret)

    return make


PAIRING = "TWILIO_API_KEY and TWILIO_API_SECRET must be set together"
BOTH = ("worker", "gateway")


def a_json_file(root: Path, content: object) -> Path:
    path = root / "endpoints.json"
    path.write_text(json.dumps(content))
    return path


def both(line: str) -> dict[str, str]:
    return dict.fromkeys(BOTH, line)


def all_three(line: str) -> dict[str, str]:
    """Problems with where settings come from stop ``dev`` too; it ignores only what it replaces."""
    return dict.fromkeys((*BOTH, "dev"), line)


CASES = {
    "api key without its secret": Case(without("TWILIO_API_SECRET"), both(PAIRING)),
    "api secret without its key": Case(without("TWILIO_API_KEY"), both(PAIRING)),
    "account sid malformed": Case(
        {**ALL_IN_ENV, "TWILIO_ACCOUNT_SID": "AC12345"},
        both("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits"),
    ),
    "api secret pasted as the key": Case(
        {**ALL_IN_ENV, "TWILIO_API_KEY": API_SECRET},
        both("TWILIO_API_KEY must be SK followed by 32 hex digits (the API key's SID, not its secret)"),
    ),
    "auth token pasted as the base url": Case(
        {**ALL_IN_ENV, "TWILIO_VIDEO_BASE_URL": AUTH_TOKEN},
        both("TWILIO_VIDEO_BASE_URL must be an http:// or https:// URL with a host"),
    ),
    "public url not http": Case(
        {**ALL_IN_ENV, "ROOMKEEPER_PUBLIC_URL": f"ftp://{CALCOM_SECRET}"},
        both("ROOMKEEPER_PUBLIC_URL must be an http:// or https:// URL with a host"),
    ),
    "metrics port of the wrong type": Case(
        {**ALL_IN_ENV, "ROOMKEEPER_METRICS_PORT": CALCOM_SECRET},
        both("ROOMKEEPER_METRICS_PORT must be a valid integer, unable to parse string as an integer"),
    ),
    "metrics port out of range": Case(
        {**ALL_IN_ENV, "ROOMKEEPER_METRICS_PORT": "70000"},
        both("ROOMKEEPER_METRICS_PORT must be less than or equal to 65535"),
    ),
    "api secret pasted as the log format": Case(
        {**ALL_IN_ENV, "ROOMKEEPER_LOG_FORMAT": API_SECRET},
        all_three("ROOMKEEPER_LOG_FORMAT must be 'text' or 'json'"),
    ),
    "api secret pasted as the sealing key": Case(
        {**ALL_IN_ENV, "ROOMKEEPER_SECRET_KEY": API_SECRET},
        {
            "worker": "ROOMKEEPER_SECRET_KEY must hold Fernet keys: key 1 is not a Fernet key (32 url-safe "
            "base64-encoded bytes; make one with `roomkeeper calendar new-key`)"
        },
    ),
    "secrets dir missing": Case(
        ALL_IN_ENV,
        all_three("ROOMKEEPER_SECRETS_DIR ({root}/secrets) does not exist"),
        lambda root: {"ROOMKEEPER_SECRETS_DIR": str(root / "secrets")},
    ),
    "secrets dir is a file": Case(
        ALL_IN_ENV,
        all_three("ROOMKEEPER_SECRETS_DIR ({root}/secrets) is not a directory"),
        secrets_dir(a_file_holding(AUTH_TOKEN)),
    ),
    "secret file not text": Case(
        without("TWILIO_AUTH_TOKEN"),
        all_three("ROOMKEEPER_SECRETS_DIR ({root}/secrets): twilio_auth_token is not UTF-8 text"),
        secrets_dir(secret_files(twilio_auth_token=AUTH_TOKEN.encode() + b"\xff\xfe")),
    ),
    "secret file is a directory": Case(
        without("TWILIO_API_SECRET"),
        all_three("ROOMKEEPER_SECRETS_DIR ({root}/secrets): twilio_api_secret is not a file"),
        secrets_dir(secret_files(twilio_api_secret=None, calcom_webhook_secret=CALCOM_SECRET.encode())),
    ),
    ".env not text": Case(
        {},
        all_three(".env is not UTF-8 text"),
        env_file(f"TWILIO_AUTH_TOKEN={AUTH_TOKEN}".encode() + b"\xff\n"),
    ),
    ".env line not NAME=value": Case(
        {},
        all_three(".env line 2 is not NAME=value"),
        env_file(f'TWILIO_API_SECRET={API_SECRET}\nTWILIO_AUTH_TOKEN="{AUTH_TOKEN}\n'.encode()),
    ),
    ".env api secret without its key": Case(
        {"TWILIO_ACCOUNT_SID": ACCOUNT_SID},
        both(PAIRING),
        env_file(f"TWILIO_API_SECRET={API_SECRET}\nCALCOM_WEBHOOK_SECRET={CALCOM_SECRET}\n".encode()),
    ),
    "gateway without the auth token": Case(
        without("TWILIO_AUTH_TOKEN"),
        {
            "gateway": "TWILIO_AUTH_TOKEN is required: Twilio signs status callbacks with the auth token, "
            "even when the REST API uses an API key"
        },
    ),
    "api secret pasted as the events secret": Case(
        {
            **ALL_IN_ENV,
            "ROOMKEEPER_EVENTS_URL": "https://app.example/hooks",
            "ROOMKEEPER_EVENTS_SECRET": API_SECRET,
        },
        {
            "worker": "ROOMKEEPER_EVENTS_SECRET: a signing secret starts with 'whsec_'",
            "dev": "ROOMKEEPER_EVENTS_SECRET: a signing secret starts with 'whsec_'",
        },
    ),
    "events secret whose key is too short": Case(
        {
            **ALL_IN_ENV,
            "ROOMKEEPER_EVENTS_URL": "https://app.example/hooks",
            "ROOMKEEPER_EVENTS_SECRET": "whsec_" + base64.b64encode(API_SECRET.encode()[:8]).decode(),
        },
        {"worker": "ROOMKEEPER_EVENTS_SECRET: a signing secret's key is 24 to 64 bytes long"},
    ),
    "events url without its secret": Case(
        {**ALL_IN_ENV, "ROOMKEEPER_EVENTS_URL": "https://app.example/hooks"},
        {"worker": "ROOMKEEPER_EVENTS_URL and ROOMKEEPER_EVENTS_SECRET must be set together"},
    ),
    "events endpoints file with a bad secret": Case(
        ALL_IN_ENV,
        {
            "worker": "ROOMKEEPER_EVENTS_ENDPOINTS: the secret for https://b.example/hooks: "
            "a signing secret starts with 'whsec_'"
        },
        lambda root: {
            "ROOMKEEPER_EVENTS_ENDPOINTS": str(a_json_file(root, {"https://b.example/hooks": CALCOM_SECRET}))
        },
    ),
    "worker without an account": Case(
        without("TWILIO_ACCOUNT_SID"), {"worker": "TWILIO_ACCOUNT_SID is not set"}
    ),
    "worker without credentials": Case(
        without("TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET"),
        {"worker": "set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET"},
    ),
}


def run_command(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "roomkeeper.cli", command],
            check=False,
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"roomkeeper {command} did not stop on its own: {expired.output}") from None


@pytest.mark.parametrize("name", list(CASES))
def test_a_settings_error_prints_one_readable_line_and_no_secret(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    env = clean_environment(**case.env, **case.files(tmp_path))
    with ThreadPoolExecutor(max_workers=len(case.says)) as pool:
        runs = {command: pool.submit(run_command, command, env, tmp_path) for command in case.says}
    for command, expected in case.says.items():
        result = runs[command].result()
        output = result.stdout + result.stderr
        assert result.returncode == 2, f"roomkeeper {command}: exit {result.returncode}\n{output}"
        assert result.stderr.splitlines() == [f"roomkeeper {command}: {expected.format(root=tmp_path)}"], (
            output
        )
        assert_never_printed(output, *SECRETS)
        # pydantic's dump shortens the input it quotes to a secret's first two characters ('Au...'),
        # too few for the 4-character rule: it must not be printed at all.
        assert "input_value" not in output and "Traceback" not in output, output


def test_dev_says_nothing_of_the_secrets_it_ignores(tmp_path: Path) -> None:
    """dev comes up despite broken Twilio settings (it ignores them) and prints no secret."""
    secrets = tmp_path / "secrets"
    secret_files(
        twilio_api_secret=API_SECRET.encode(),
        calcom_webhook_secret=CALCOM_SECRET.encode(),
        roomkeeper_api_token=API_TOKEN.encode(),  # taken by dev, so its banner must not show it
    )(secrets)
    (tmp_path / ".env").write_text(f"TWILIO_AUTH_TOKEN={AUTH_TOKEN}\nTWILIO_API_KEY={API_SECRET}\n")
    env = clean_environment(
        ROOMKEEPER_SECRETS_DIR=str(secrets),
        TWILIO_ACCOUNT_SID="AC12345",
        TWILIO_VIDEO_BASE_URL=AUTH_TOKEN,
        ROOMKEEPER_PUBLIC_URL=f"ftp://{CALCOM_SECRET}",
        TEMPORAL_ADDRESS="127.0.0.1:1",
    )
    dev = DevProcess(env, cwd=tmp_path)
    try:
        assert dev.wait_until_up_or_exited(), dev.output
    finally:
        returncode = dev.stop()
    assert returncode == 0, dev.output
    assert_never_printed(dev.output, *SECRETS)
    assert "Bearer $ROOMKEEPER_API_TOKEN" in dev.output  # the token was taken, not made up
