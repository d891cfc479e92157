"""`--metrics-listen`: Prometheus metrics of a Streamable HTTP server, read with the official
Prometheus client library's text parser after real MCP SDK calls."""

from __future__ import annotations

import subprocess

import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import STATIC_TOKEN, HttpServer, free_port, server_env
from test_http import connect, envelope

pytestmark = pytest.mark.anyio

READ = "billing.inspect_subscription"
PROPOSE = "billing.propose_discount"


def scrape(url: str) -> dict:
    reply = httpx.get(url, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(reply.text)}


def value(families: dict, family: str, sample: str, **labels) -> float:
    found = [
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (family, sample, labels, families[family].samples)
    return found[0]


@pytest.fixture
def metered(airlock_bin, app):
    port = free_port()
    srv = HttpServer(
        airlock_bin,
        app["env_config"],
        app["dir"] / f"metrics-{port}.db",
        extra_args=["--metrics-listen", f"127.0.0.1:{port}"],
    )
    srv.metrics_url = f"http://127.0.0.1:{port}/metrics"
    yield srv
    srv.stop()


async def test_calls_proposals_ledger_and_pool_are_counted(metered):
    before = scrape(metered.metrics_url)
    assert value(before, "airlock_tool_calls", "airlock_tool_calls_total", tool=READ, outcome="ok") == 0
    async with connect(metered.url, STATIC_TOKEN) as client:
        for _ in range(3):
            assert envelope(await client.call_tool(READ, {"subscription_id": "SUB-1001"}))["ok"]
        missing = await client.call_tool(READ, {"subscription_id": "SUB-NOPE"})
        assert missing.is_error
        wrong_type = await client.call_tool(READ, {"subscription_id": 17})
        assert wrong_type.is_error
        made = envelope(
            await client.call_tool(PROPOSE, {"subscription_id": "SUB-1001", "discount_pct": 5, "reason": "metrics"})
        )
        assert made["ok"]
    after = scrape(metered.metrics_url)
    assert value(after, "airlock_tool_calls", "airlock_tool_calls_total", tool=READ, outcome="ok") == 3
    failed = [
        s for s in after["airlock_tool_calls"].samples
        if s.name == "airlock_tool_calls_total" and s.labels["tool"] == READ and s.labels["outcome"] != "ok"
    ]
    assert sum(s.value for s in failed) == 2, failed
    assert all(s.labels["outcome"].isupper() for s in failed), failed
    assert value(after, "airlock_tool_calls", "airlock_tool_calls_total", tool=PROPOSE, outcome="ok") == 1
    # Histogram: five reads observed, +Inf bucket equals the count.
    assert value(after, "airlock_tool_call_duration_seconds", "airlock_tool_call_duration_seconds_count", tool=READ) == 5
    assert value(
        after, "airlock_tool_call_duration_seconds", "airlock_tool_call_duration_seconds_bucket", tool=READ, le="+Inf"
    ) == 5
    assert value(after, "airlock_proposals", "airlock_proposals", state="pending_review") == 1
    assert value(after, "airlock_ledger_commits", "airlock_ledger_commits_total") >= 1
    assert value(after, "airlock_ledger_records", "airlock_ledger_records_total") >= 5
    assert value(after, "airlock_ledger_write_queue_depth", "airlock_ledger_write_queue_depth") == 0
    assert value(after, "airlock_db_pool_max_connections", "airlock_db_pool_max_connections", source="app") >= 1
    assert value(after, "airlock_db_pool_connections", "airlock_db_pool_connections", source="app", state="in_use") == 0
    assert value(after, "airlock_metrics_scrape_error", "airlock_metrics_scrape_error", part="ledger") == 0


async def test_model_chosen_tool_names_never_become_labels(metered):
    async with connect(metered.url, STATIC_TOKEN) as client:
        with pytest.raises(Exception):
            await client.call_tool('evil"} 1\nairlock_injected 1', {})
    text = httpx.get(metered.metrics_url, timeout=10).text
    assert "evil" not in text and "airlock_injected" not in text
    families = {f.name for f in text_string_to_metric_families(text)}
    assert "airlock_tool_calls" in families


def test_metrics_are_off_by_default_and_not_on_the_mcp_port(http_server):
    assert httpx.get(http_server.base + "/metrics", timeout=5).status_code == 404


def test_a_non_loopback_metrics_address_needs_its_flag(airlock_bin, app):
    args = [airlock_bin, "--config", str(app["env_config"]), "--store", str(app["dir"] / "remote.db"),
            "mcp", "serve-streamable-http", "--port", str(free_port()), "--metrics-listen", "0.0.0.0:0"]
    done = subprocess.run(args, env=server_env(), capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "METRICS_REMOTE_BIND" in done.stderr
