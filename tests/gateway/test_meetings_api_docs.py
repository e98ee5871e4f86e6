"""The meetings API describes itself: ``/openapi.json`` documents every model, field and error, its
examples are valid, and ``/docs`` is served from the gateway alone (no CDN), so it works offline."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import BaseModel

from roomkeeper.gateway.meetings_api import MeetingChange, MeetingCreated
from roomkeeper.gateway.meetings_openapi import (
    CREATED_EXAMPLE,
    PAGE_EXAMPLE,
    RESPONSE_EXAMPLES,
    SPEC_EXAMPLES,
    STATUS_EXAMPLE,
    SUMMARY_EXAMPLE,
    TOKEN_EXAMPLE,
)
from roomkeeper.join_tokens import JoinToken, TokenRequest
from roomkeeper.meeting_client import MeetingPage
from tests.gateway.meetings_support import gateway_on, serving, unreachable_meetings
from workflows.meeting_input import MeetingSpec
from workflows.meeting_status import MeetingStatus, MeetingSummary


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    async with serving(gateway_on(await unreachable_meetings())) as http:
        yield http


@pytest_asyncio.fixture
async def openapi(gateway: httpx.AsyncClient) -> dict[str, Any]:
    response = await gateway.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def meetings_operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in openapi["paths"].items()
        if path.startswith("/meetings")
        for method, operation in methods.items()
    ]


def test_every_model_and_field_is_described(openapi: dict[str, Any]) -> None:
    undescribed = []
    for name, schema in openapi["components"]["schemas"].items():
        if not schema.get("description"):
            undescribed.append(name)
        undescribed += [
            f"{name}.{field}"
            for field, prop in schema.get("properties", {}).items()
            if not prop.get("description")
        ]
    assert undescribed == []


def test_every_meetings_route_is_tagged_summarised_secured_and_declares_its_errors(
    openapi: dict[str, Any],
) -> None:
    operations = meetings_operations(openapi)
    assert sorted((method, path) for method, path, _ in operations) == [
        ("DELETE", "/meetings/{meeting_id}"),
        ("GET", "/meetings"),
        ("GET", "/meetings/{meeting_id}"),
        ("PATCH", "/meetings/{meeting_id}"),
        ("POST", "/meetings"),
        ("POST", "/meetings/{meeting_id}/end"),
        ("POST", "/meetings/{meeting_id}/tokens"),
    ]
    for method, path, operation in operations:
        where = f"{method} {path}"
        assert operation["tags"] == ["meetings"], where
        assert operation["summary"] and operation["description"], where
        assert operation["security"] == [{"ApiToken": []}], where
        responses = operation["responses"]
        for status in ("401", "422", "502", "503"):
            assert status in responses, (where, status)
        error_schema = responses["401"]["content"]["application/json"]["schema"]
        assert error_schema == {"$ref": "#/components/schemas/ErrorBody"}, where
        invalid_schema = responses["422"]["content"]["application/json"]["schema"]
        assert invalid_schema == {"$ref": "#/components/schemas/InvalidRequestBody"}, where
        assert "Retry-After" in responses["503"]["headers"], where
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), where
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), (where, parameter["name"])
    assert openapi["components"]["securitySchemes"]["ApiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <ROOMKEEPER_API_TOKEN>` on every `/meetings` request.",
    }


@pytest.mark.parametrize(
    ("model", "example"),
    [
        *[(MeetingSpec, example["value"]) for example in SPEC_EXAMPLES.values()],
        (MeetingStatus, STATUS_EXAMPLE),
        (MeetingCreated, CREATED_EXAMPLE),
        (MeetingPage, PAGE_EXAMPLE),
        (MeetingSummary, SUMMARY_EXAMPLE),
        (JoinToken, TOKEN_EXAMPLE),
        *[(TokenRequest, example) for example in TokenRequest.model_json_schema()["examples"]],
        *[(MeetingChange, example) for example in MeetingChange.model_json_schema()["examples"]],
    ],
)
def test_examples_are_valid(model: type[BaseModel], example: dict[str, Any]) -> None:
    model.model_validate(example)


def test_the_served_document_carries_the_examples_with_their_nulls(openapi: dict[str, Any]) -> None:
    create = openapi["paths"]["/meetings"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"] == SPEC_EXAMPLES
    for (path, method, status), value in RESPONSE_EXAMPLES.items():
        served = openapi["paths"][path][method]["responses"][status]["content"]["application/json"]
        assert served["example"] == value, (path, method, status)
    assert CREATED_EXAMPLE["status"]["room_sid"] is None  # a null FastAPI's own encoding would drop


# ------------------------------------------------------------------------------------------- /docs

#: Every URL a page names: src and href attributes, and Swagger UI's ``url: '...'``.
_URLS = re.compile(r"""(?:src|href)="([^"]*)"|url:\s*'([^']*)'""")


async def test_docs_use_only_the_gateways_own_assets(gateway: httpx.AsyncClient) -> None:
    page = await gateway.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    urls = [a or b for a, b in _URLS.findall(page.text)]
    assert "/openapi.json" in urls and len(urls) >= 4, urls
    kinds = set()
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await gateway.get(url)
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"].split(";")[0]
        kinds.add(kind)
        assert kind in {
            "text/css",
            "text/javascript",
            "application/javascript",
            "image/png",
            "application/json",
        }
        assert len(asset.content) > 1000, url
    assert {"text/css", "image/png", "application/json"} <= kinds
    assert kinds & {"text/javascript", "application/javascript"}


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine to render /docs")
async def test_docs_render_in_a_browser_without_the_internet(
    gateway: httpx.AsyncClient, tmp_path: Path
) -> None:
    # Whatever a CDN would have served is out of reach here (the machine has no internet): the page
    # renders every route only if Swagger UI's assets came from the gateway.
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
        "--virtual-time-budget=10000", "--dump-dom", f"{gateway.base_url}/docs",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    dom, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    rendered = dom.decode()
    for path in ("/meetings", "/meetings/{meeting_id}", "/meetings/{meeting_id}/end", "/healthz"):
        assert f'data-path="{path}"' in rendered, path
    assert "Schedule a meeting (idempotent)" in rendered
