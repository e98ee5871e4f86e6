"""``roomkeeper emulator`` / ``python -m emulator``: serve the Twilio Video emulator."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from emulator.app import EmulatorConfig, create_app
from emulator.clock import Clock, ManualClock, SystemClock
from emulator.credentials import (
    TEST_ACCOUNT_SID,
    TEST_API_KEY_SECRET,
    TEST_API_KEY_SID,
    TEST_AUTH_TOKEN,
    Credentials,
)
from emulator.serving import GatheringHttpToolsProtocol


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8088, help="port to bind (default %(default)s)")
    parser.add_argument("--account-sid", default=TEST_ACCOUNT_SID, help="account SID (AC…) it answers for")
    parser.add_argument(
        "--auth-token", default=TEST_AUTH_TOKEN, help="auth token: Basic password and callback signing key"
    )
    parser.add_argument(
        "--api-key-sid",
        help=f"an API key SID (SK…) also accepted, with --api-key-secret (default: {TEST_API_KEY_SID} "
        "with the test account, none with credentials of your own)",
    )
    parser.add_argument("--api-key-secret", help="that API key's secret")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run room timeouts and participant limits N times faster (timestamps stay real)",
    )
    parser.add_argument(
        "--manual-clock",
        action="store_true",
        help="freeze time; advance it with POST /emulator/clock/advance (for tests)",
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="turn off the 80 reads/s and 20 writes/s account limits"
    )
    parser.add_argument("--public-url", help="base URL for links and page URLs (default: the request's)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    for name, value, prefix in (
        ("--account-sid", args.account_sid, "AC"),
        ("--api-key-sid", args.api_key_sid, "SK"),
    ):
        if value is not None and not (value.startswith(prefix) and len(value) == 34):
            raise SystemExit(f"{name} must be {prefix} followed by 32 hex digits, got {value!r}")
    if (args.api_key_sid is None) != (args.api_key_secret is None):
        raise SystemExit("--api-key-sid and --api-key-secret go together: give both or neither")
    # Only the credentials given (or, with none given, the public test account's) open the emulator.
    api_keys = {args.api_key_sid: args.api_key_secret} if args.api_key_sid is not None else None
    if args.time_scale <= 0:
        raise SystemExit(f"--time-scale must be positive, got {args.time_scale}")
    clock: Clock = ManualClock() if args.manual_clock else SystemClock(args.time_scale)
    return EmulatorConfig(
        credentials=Credentials(args.account_sid, args.auth_token, api_keys),
        clock=clock,
        rate_limits=not args.no_rate_limit,
        public_url=args.public_url,
    )


def describe(config: EmulatorConfig, url: str) -> str:
    """The start-up banner. Credentials are printed only when they are the public test defaults."""
    credentials = config.credentials
    is_test_account = credentials.auth_token == TEST_AUTH_TOKEN
    lines = [
        f"Twilio Video emulator on {url}",
        f"  TWILIO_VIDEO_BASE_URL={url}",
        f"  TWILIO_ACCOUNT_SID={credentials.account_sid}",
        f"  TWILIO_AUTH_TOKEN={credentials.auth_token if is_test_account else '(as given, not shown)'}",
    ]
    keys = sorted(credentials.keys)
    lines.append(
        f"  TWILIO_API_KEY={keys[0]}" if keys else "  (no API key: --api-key-sid/--api-key-secret add one)"
    )
    if dict(credentials.keys) == {TEST_API_KEY_SID: TEST_API_KEY_SECRET}:
        # Public, and what signs join tokens (roomkeeper meeting token) for this emulator.
        lines.append(f"  TWILIO_API_SECRET={TEST_API_KEY_SECRET}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    print(describe(config, f"http://{args.host}:{args.port}"), flush=True)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        http=GatheringHttpToolsProtocol,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emulator", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
