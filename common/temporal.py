"""The Temporal connection every process uses: Temporal's env config, our settings, one data converter."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from common.settings import Settings

#: Workflow inputs, results, signals and updates are pydantic models, as JSON.
DATA_CONVERTER = pydantic_data_converter


def connect_config(
    settings: Settings, *, address: str | None = None, namespace: str | None = None
) -> dict[str, Any]:
    """``Client.connect``'s arguments: Temporal's env config (profiles, TLS, API keys) first, our settings
    for the rest. ``address`` and ``namespace`` (a command's flags) win over both."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", settings.temporal_address)
    config.setdefault("namespace", settings.temporal_namespace)
    if address is not None:
        config["target_host"] = address
    if namespace is not None:
        config["namespace"] = namespace
    return config


async def connect(
    settings: Settings,
    runtime: Runtime | None = None,
    *,
    address: str | None = None,
    namespace: str | None = None,
) -> Client:
    """A Temporal client: Temporal's env config (profiles, TLS, API keys) first, our settings for the rest."""
    config = connect_config(settings, address=address, namespace=namespace)
    return await Client.connect(**config, data_converter=DATA_CONVERTER, runtime=runtime)
