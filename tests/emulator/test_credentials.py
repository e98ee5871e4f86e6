"""Only the credentials the emulator was started with (and keys it was told about) open it."""

from __future__ import annotations

import argparse

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.app import EmulatorConfig
from emulator.cli import add_arguments, config_from_args, describe
from emulator.clock import ManualClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID, TEST_AUTH_TOKEN
from tests.support import running_emulator

OWN_KEY = "SK" + "1234abcd" * 4


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def client(url: str, username: str, password: str, account_sid: str = TEST_ACCOUNT_SID) -> Client:
    made = Client(username, password, account_sid=account_sid)
    made.video.base_url = url
    return made


def refused(made: Client) -> tuple[int, int]:
    with pytest.raises(TwilioRestException) as error:
        made.video.v1.rooms.create()  # (a list raises a bare TwilioException on any non-200)
    return error.value.status, error.value.code


def test_the_public_test_account_takes_its_public_api_key() -> None:
    config = config_from_args(args())
    assert dict(config.credentials.keys) == {TEST_API_KEY_SID: TEST_API_KEY_SECRET}
    banner = describe(config, "http://x")
    # Both halves of the public key, so join tokens can be signed for this emulator.
    assert (
        f"TWILIO_API_KEY={TEST_API_KEY_SID}" in banner
        and f"TWILIO_API_SECRET={TEST_API_KEY_SECRET}" in banner
    )


def test_a_custom_auth_token_shuts_the_public_api_key_out() -> None:
    config = config_from_args(args("--auth-token", "private-token"))
    assert dict(config.credentials.keys) == {}
    banner = describe(config, "http://x")
    assert "private-token" not in banner and TEST_API_KEY_SID not in banner and "no API key" in banner
    assert TEST_API_KEY_SECRET not in banner
    config.clock = ManualClock()
    config.rate_limits = False
    with running_emulator(config) as emulator:
        assert refused(client(emulator.url, TEST_API_KEY_SID, TEST_API_KEY_SECRET)) == (401, 20003)
        assert refused(client(emulator.url, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)) == (401, 20003)
        assert client(emulator.url, TEST_ACCOUNT_SID, "private-token").video.v1.rooms.list() == []


def test_a_key_it_was_told_about_works_and_only_that_one() -> None:
    config = config_from_args(
        args("--auth-token", "private-token", "--api-key-sid", OWN_KEY, "--api-key-secret", "own-secret")
    )
    with running_emulator(EmulatorConfig(credentials=config.credentials, clock=ManualClock())) as emulator:
        assert client(emulator.url, OWN_KEY, "own-secret").video.v1.rooms.list() == []
        assert refused(client(emulator.url, OWN_KEY, TEST_API_KEY_SECRET)) == (401, 20003)
        assert refused(client(emulator.url, TEST_API_KEY_SID, TEST_API_KEY_SECRET)) == (401, 20003)
    assert OWN_KEY in describe(config, "http://x") and "own-secret" not in describe(config, "http://x")


def test_a_custom_account_sid_alone_also_shuts_the_public_key_out() -> None:
    config = config_from_args(args("--account-sid", "AC" + "0" * 32))
    assert dict(config.credentials.keys) == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--api-key-sid", OWN_KEY), "--api-key-sid and --api-key-secret go together"),
        (("--api-key-secret", "s"), "--api-key-sid and --api-key-secret go together"),
        (("--api-key-sid", "SKnope", "--api-key-secret", "s"), "--api-key-sid must be SK followed by 32 hex"),
    ],
)
def test_api_key_arguments_are_checked(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        config_from_args(args(*argv))
