"""The Temporal connection every process uses: Temporal's env config, our settings, one data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from common.settings import Settings

#: Workflow inputs, results, signals and updates are pydantic models, as JSON.
DATA_CONVERTER = pydantic_data_converter


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A Temporal client: Temporal's env config (profiles, TLS, API keys) first, our settings for the rest."""
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", settings.temporal_address)
    config.setdefault("namespace", settings.temporal_namespace)
    return await Client.connect(**config, data_converter=DATA_CONVERTER, runtime=runtime)
