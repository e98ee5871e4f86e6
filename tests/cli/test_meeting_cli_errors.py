"""``roomkeeper meeting`` refuses bad input in one readable line per problem (exit 2), reports what did not
happen (exit 1), and never shows a traceback. Input is judged before Temporal is asked: these commands
point at a closed port, so one that tried to connect would fail differently."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from roomkeeper import meeting_cli
from roomkeeper.serving import bind
from tests.cli.support import meeting

TIME_EXAMPLES = "'2026-12-01 09:00 Europe/Berlin', 'in 10m', 'now' or '2026-12-01T09:00+01:00'"
DURATION_EXAMPLES = "30m, 1h, 1h30m, 90s or 2d"
#: A start and a length that are fine, for the cases about something else.
WINDOW = ("--start", "in 1h", "--duration", "30m")


@pytest.fixture
def closed_port() -> int:
    sock = bind()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def spec_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.json"
    path.write_text(text)
    return str(path)


BAD_INPUT = [
    pytest.param(
        ["schedule", "--start", "next tuesday", "--duration", "30m"],
        [f"--start: not a time: 'next tuesday' (write e.g. {TIME_EXAMPLES})"],
        id="bad time",
    ),
    pytest.param(
        ["schedule", "--start", "2031-12-01 09:00", "--duration", "30m"],
        [
            "--start: '2031-12-01 09:00' has no time zone: add an IANA zone "
            "('2031-12-01 09:00 Europe/Berlin') or an offset ('2031-12-01T09:00+01:00'), or give --timezone"
        ],
        id="naive time",
    ),
    pytest.param(
        ["schedule", "--start", "2031-12-01 09:00 Europe/Berln", "--duration", "30m"],
        [
            "--start: unknown time zone 'Europe/Berln' (an IANA name such as Europe/Berlin, America/New_York "
            "or UTC; did you mean Europe/Berlin?)"
        ],
        id="unknown zone",
    ),
    pytest.param(
        ["schedule", "--start", "2031-03-30 02:30 Europe/Berlin", "--end", "2031-10-26 02:30 Europe/Berlin"],
        [
            "--start: 2031-03-30 02:30 does not exist in Europe/Berlin: the clocks skip it (from +01:00 to "
            "+02:00); pick a time outside the gap",
            "--end: 2031-10-26 02:30 happens twice in Europe/Berlin (the clocks go back from +02:00 to "
            "+01:00): write it with the offset you mean, e.g. 2031-10-26T02:30+02:00",
        ],
        id="DST gap and repeat",
    ),
    pytest.param(
        ["schedule", "--start", "in 1h", "--duration", "half an hour"],
        [f"--duration: not a duration: 'half an hour' (write e.g. {DURATION_EXAMPLES})"],
        id="bad duration",
    ),
    pytest.param(
        ["schedule", "--start", "2031-12-01 10:00 UTC", "--end", "2031-12-01 09:00 UTC"],
        ["end_time 2031-12-01T09:00:00+00:00 must be after start_time 2031-12-01T10:00:00+00:00"],
        id="end before start",
    ),
    pytest.param(
        ["schedule", "--start", "2031-12-01 10:00 UTC", "--duration", "8d"],
        ["the meeting lasts longer than the maximum of 7 days"],
        id="too long",
    ),
    pytest.param(
        ["schedule", "--start", "2020-01-01 09:00 UTC", "--end", "2020-01-01 10:00 UTC", "--timezone", "UTC"],
        ["the meeting's end, 2020-01-01 10:00:00 UTC, has already passed: nothing was started"],
        id="end passed",
    ),
    pytest.param(
        ["schedule", *WINDOW, "--max-participants", "60"],
        ["room.max_participants: 60 is out of range; allowed from 1 up to 50 for a 'group' room"],
        id="over the cap",
    ),
    pytest.param(
        ["schedule", *WINDOW, "--type", "go", "--max-participants", "3", "--record"],
        [
            "room.max_participants: 3 is out of range; allowed from 1 up to 2 for a 'go' room",
            "room.record_participants_on_connect: true is not supported for type 'go'",
        ],
        id="the type's rules, one line each",
    ),
    pytest.param(
        ["schedule", *WINDOW, "--video-codec", "VP9", "--type", "huge"],
        [
            "room.type: Input should be 'group', 'go', 'peer-to-peer' or 'group-small' (got 'huge')",
            "room.video_codecs.0: Input should be 'VP8' or 'H264' (got 'VP9')",
        ],
        id="unknown codec and type",
    ),
    pytest.param(
        ["schedule", *WINDOW, "--empty-room-timeout", "90s", "--open-before", "soon"],
        [
            f"--open-before: not a duration: 'soon' (write e.g. {DURATION_EXAMPLES})",
            "--empty-room-timeout: '90s' is not a whole number of minutes",
        ],
        id="room durations",
    ),
    pytest.param(
        ["schedule", *WINDOW, "--id", "two words"],
        ["meeting_id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' (got 'two words')"],
        id="bad id",
    ),
    pytest.param(
        ["schedule", "--title", "Nothing else"],
        [
            "give --start (or start_time in the --spec file)",
            "give --end or --duration (or end_time in the --spec file)",
        ],
        id="no window",
    ),
    pytest.param(
        ["extend", "some-meeting", "90s"],
        ["extend: '90s' is not a whole number of minutes"],
        id="extend by seconds",
    ),
    pytest.param(
        ["extend", "some-meeting", "2d"],
        ["minutes: Input should be less than or equal to 1440 (got 2880)"],
        id="extend too far",
    ),
    pytest.param(
        ["reschedule", "some-meeting"], ["give --start, --end or --duration"], id="reschedule nothing"
    ),
    pytest.param(
        ["reschedule", "some-meeting", "--end", "2020-01-01 10:00 UTC", "--timezone", "UTC"],
        ["the new end, 2020-01-01 10:00:00 UTC, has already passed: nothing changed"],
        id="reschedule into the past",
    ),
    pytest.param(
        ["list", "--phase", "done", "--today", "--to", "in 1h"],
        [
            "--phase: unknown phase 'done' (one of scheduled, opening, open, closing, completed, cancelled, "
            "failed)",
            "--today cannot be combined with --from or --to",
        ],
        id="list filters",
    ),
    pytest.param(
        ["list", "--from", "in 2h", "--to", "in 1h"], ["--to must be after --from"], id="list window"
    ),
    pytest.param(
        ["status", "some-meeting", "--timezone", "Mars/Olympus_Mons"],
        [
            "--timezone: unknown time zone 'Mars/Olympus_Mons' (an IANA name such as Europe/Berlin, "
            "America/New_York or UTC)"
        ],
        id="unknown --timezone",
    ),
]


@pytest.mark.parametrize(("argv", "problems"), BAD_INPUT)
async def test_bad_input_is_named_one_line_per_problem(
    argv: list[str], problems: list[str], closed_port: int
) -> None:
    ran = await meeting(*argv, "--address", f"127.0.0.1:{closed_port}")
    prefix = f"roomkeeper meeting {argv[0]}: "
    assert (ran.code, ran.out, ran.err.splitlines()) == (2, "", [prefix + p for p in problems]), ran


@pytest.mark.parametrize(
    ("content", "problems"),
    [
        pytest.param(None, ["--spec {path}: no such file"], id="missing"),
        pytest.param(
            "{not json",
            ["--spec {path}: not JSON: Expecting property name enclosed in double quotes at line 1 column 2"],
            id="not JSON",
        ),
        pytest.param(
            "[1, 2]",
            ["--spec {path}: must hold a JSON object (a meeting spec), not list"],
            id="not an object",
        ),
        pytest.param(
            '{"colour": "red", "room": {"size": 3, "max_participants": "many"}, "open_before_seconds": -1}',
            [
                "open_before_seconds: Input should be greater than or equal to 0 (got -1)",
                "room.max_participants: Input should be a valid integer, unable to parse string as an "
                "integer (got 'many')",
                "room.size: Extra inputs are not permitted (got 3)",
                "colour: Extra inputs are not permitted (got 'red')",
            ],
            id="wrong fields",
        ),
        pytest.param(
            '{"start_time": "2031-12-01T09:00:00", "end_time": "2031-12-01T10:00:00Z"}',
            ["start_time: Input should have timezone info (got '2031-12-01T09:00:00')"],
            id="naive time in the file",
        ),
    ],
)
async def test_bad_spec_files(
    content: str | None, problems: list[str], tmp_path: Path, closed_port: int
) -> None:
    path = spec_file(tmp_path, content) if content is not None else str(tmp_path / "absent.json")
    argv = ["schedule", "--spec", path, "--address", f"127.0.0.1:{closed_port}"]
    if content is None or "start_time" not in content:
        argv += WINDOW
    ran = await meeting(*argv)
    expected = ["roomkeeper meeting schedule: " + p.format(path=path) for p in problems]
    assert (ran.code, ran.out, ran.err.splitlines()) == (2, "", expected), ran


async def test_argparse_errors_are_exit_2_with_usage(closed_port: int) -> None:
    ran = await meeting("schedule", "--max-participants", "lots")
    assert ran.code == 2 and ran.out == ""
    assert ran.err.endswith(
        "roomkeeper meeting schedule: error: argument --max-participants: not a whole number: 'lots'\n"
    )
    ran = await meeting("schedule", "--end", "in 1h", "--duration", "1h")
    assert ran.code == 2
    assert ran.err.endswith("error: argument --duration: not allowed with argument --end\n")
    ran = await meeting("frobnicate")
    assert ran.code == 2 and "invalid choice: 'frobnicate'" in ran.err
    ran = await meeting("list", "--limit", "0")
    assert ran.code == 2 and ran.err.endswith("argument --limit: must be at least 1 (got 0)\n")
    ran = await meeting("status", "--help")
    assert (ran.code, ran.err) == (0, "") and ran.out.startswith("usage: roomkeeper meeting status")


async def test_a_configuration_problem_is_exit_2(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    monkeypatch.setenv("ROOMKEEPER_METRICS_PORT", "lots")
    ran = await meeting("status", "x", "--address", f"127.0.0.1:{closed_port}")
    assert (ran.code, ran.err) == (
        2,
        "roomkeeper meeting status: ROOMKEEPER_METRICS_PORT must be a valid integer, unable to parse string "
        "as an integer\n",
    )
    monkeypatch.delenv("ROOMKEEPER_METRICS_PORT")
    ran = await meeting("status", "x", "--task-queue", " ")
    assert ran.code == 2 and ran.err.endswith(
        "roomkeeper meeting status: error: argument --task-queue: must not be empty\n"
    )


async def test_temporal_unreachable_is_exit_1(closed_port: int) -> None:
    for argv in (["status", "x"], ["list"], ["schedule", *WINDOW], ["cancel", "x"]):
        ran = await meeting(*argv, "--address", f"127.0.0.1:{closed_port}")
        assert (ran.code, ran.out, ran.err) == (
            1,
            "",
            f"roomkeeper meeting {argv[0]}: cannot reach Temporal at 127.0.0.1:{closed_port}: "
            "Connection refused\n",
        )
    ran = await meeting("status", "x", "--address", "not an address")
    assert (ran.code, ran.err) == (
        2,
        "roomkeeper meeting status: cannot use Temporal address 'not an address': invalid target URL: "
        "invalid international domain name\n",
    )


async def test_unknown_meetings_and_namespaces_are_named(temporal_env: WorkflowEnvironment) -> None:
    on = ["--address", temporal_env.client.service_client.config.target_host, "--task-queue", "nobody"]
    missing = f"nobody-{uuid.uuid4().hex[:8]}"
    for argv in (
        ["status", missing],
        ["extend", missing, "5m"],
        ["reschedule", missing, "--end", "in 1h"],
        ["reschedule", missing, "--duration", "1h"],
        ["end", missing],
        ["cancel", missing],
    ):
        ran = await meeting(*argv, *on)
        assert (ran.code, ran.out, ran.err) == (
            1,
            "",
            f"roomkeeper meeting {argv[0]}: no meeting '{missing}' (no workflow 'meeting-{missing}')\n",
        )
    for argv in (["status", missing], ["list"], ["schedule", *WINDOW]):
        ran = await meeting(*argv, *on, "--namespace", "no-such-namespace")
        assert (ran.code, ran.err) == (
            1,
            f"roomkeeper meeting {argv[0]}: Temporal has no namespace 'no-such-namespace'\n",
        )


async def test_a_meeting_without_a_worker_says_so(
    temporal_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = temporal_env.client.service_client.config.target_host
    queue = f"no-worker-{uuid.uuid4().hex[:8]}"
    meeting_id = f"unanswered-{uuid.uuid4().hex[:8]}"
    on = ["--address", address, "--task-queue", queue]
    assert (await meeting("schedule", "--id", meeting_id, *WINDOW, *on)).code == 0
    monkeypatch.setattr(meeting_cli, "TEMPORAL_TIMEOUT", timedelta(seconds=0.5))
    try:
        for argv in (["status", meeting_id], ["extend", meeting_id, "5m"]):
            ran = await meeting(*argv, *on)
            assert ran.code == 1, ran
            assert ran.err.startswith(f"roomkeeper meeting {argv[0]}: the meeting did not answer ")
            assert ran.err.endswith(
                f": it answers only while a worker polls task queue '{queue}' on Temporal at {address}; "
                "is one running?\n"
            )
    finally:
        await temporal_env.client.get_workflow_handle(f"meeting-{meeting_id}").terminate()


async def test_an_unforeseen_error_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    async def broken(current: meeting_cli.Run) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(meeting_cli, "_status", broken)  # bound when main_async builds the parser
    ran = await meeting("status", "x", "--address", f"127.0.0.1:{closed_port}")
    assert (ran.code, ran.err) == (1, "roomkeeper meeting status: unexpected error: KeyError: 'surprise'\n")


async def test_a_new_start_keeps_the_spec_files_length(tmp_path) -> None:
    """The docs' own example: a spec exported with --dry-run, scheduled again at another time."""
    exported = await meeting("schedule", "--title", "Weekly sync", "--start", "in 1h", "--duration", "30m",
                             "--dry-run")  # fmt: skip
    assert exported.code == 0, exported
    spec_file = tmp_path / "sync.json"
    spec_file.write_text(exported.out)
    again = await meeting("schedule", "--spec", str(spec_file), "--start", "2030-12-01 14:00 Europe/Paris",
                          "--dry-run")  # fmt: skip
    assert again.code == 0, again
    spec = json.loads(again.out)
    assert (spec["start_time"], spec["end_time"]) == (
        "2030-12-01T14:00:00+01:00",
        "2030-12-01T14:30:00+01:00",
    )
