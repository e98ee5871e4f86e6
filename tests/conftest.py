from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import CallbackSink, RunningEmulator, callback_sink, running_emulator


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator over real HTTP: manual clock, rate limits off."""
    with running_emulator() as running:
        yield running


@pytest.fixture
def sink() -> Iterator[CallbackSink]:
    with callback_sink() as running:
        yield running
