"""One stdio run against Postgres: a fresh database, read and proposal through the SDK.

Uses AIRLOCK_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres). Skipped
when Postgres is unreachable, except under CI=true, where that fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from conftest import capabilities, server_env

pytestmark = pytest.mark.anyio

ADMIN_URL = os.environ.get("AIRLOCK_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

SCHEMA = """
CREATE TABLE public.subscriptions (
    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, customer_name TEXT NOT NULL, plan TEXT NOT NULL,
    seats INTEGER NOT NULL, monthly_price_cents INTEGER NOT NULL, discount_pct INTEGER NOT NULL DEFAULT 0,
    discount_reason TEXT, row_version INTEGER NOT NULL DEFAULT 1);
INSERT INTO public.subscriptions VALUES
    ('SUB-1001', 'northwind', 'Blue Harbor Cafe', 'team', 12, 36000, 0, NULL, 1),
    ('SUB-2001', 'globex', 'Initech', 'enterprise', 400, 880000, 10, 'multi-year', 7);
"""


def with_db(url: str, db: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pg_db():
    ci = os.environ.get("CI") == "true"
    if shutil.which("psql") is None:
        if ci:
            pytest.fail("psql is required under CI=true")
        pytest.skip("SKIP postgres: psql not installed")
    try:
        psql(ADMIN_URL, "SELECT 1")
    except Exception as e:  # noqa: BLE001
        if ci:
            pytest.fail(f"Postgres unreachable at AIRLOCK_TEST_POSTGRES_URL under CI=true: {e}")
        pytest.skip("SKIP postgres: server unreachable")
    name = f"airlock_mcp_{uuid.uuid4().hex[:10]}"
    psql(ADMIN_URL, f"CREATE DATABASE {name}")
    url = with_db(ADMIN_URL, name)
    psql(url, SCHEMA)
    yield url
    psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_stdio_read_and_proposal_on_postgres(airlock_bin, pg_db, tmp_path):
    cfg = {
        "version": 1, "mode": "review", "result_format": 2,
        "sources": {"pg": {"engine": "postgres", "read_url_env": "AIRLOCK_SUITE_PG_URL"}},
        "trusted_context": {"provider": "environment"},
        "capabilities": capabilities("pg"),
    }
    (tmp_path / "airlock.json").write_text(json.dumps(cfg))
    params = StdioServerParameters(
        command=airlock_bin,
        args=["--config", str(tmp_path / "airlock.json"), "--store", str(tmp_path / "ledger.db"), "mcp", "serve"],
        env=server_env(AIRLOCK_SUITE_PG_URL=pg_db),
    )
    async with Client(params, mode="legacy") as client:
        read = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-1001"})
        assert not read.is_error, read.content[0].text
        assert read.structured_content["data"]["customer_name"] == "Blue Harbor Cafe"
        other = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-2001"})
        assert other.structured_content["error"]["code"] == "NOT_FOUND_IN_TENANT"
        made = await client.call_tool("billing.propose_discount",
                                      {"subscription_id": "SUB-1001", "discount_pct": 10, "reason": "postgres run"})
        assert not made.is_error, made.content[0].text
        assert made.structured_content["source_database_changed"] is False
        assert pg_db not in json.dumps(made.structured_content)
