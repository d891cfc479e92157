"""The official MCP Python SDK against `airlock mcp serve` (stdio), on a SQLite app."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from conftest import server_env

pytestmark = pytest.mark.anyio


def stdio(airlock_bin, config, store, mode="legacy", **env):
    params = StdioServerParameters(
        command=airlock_bin,
        args=["--config", str(config), "--store", str(store), "mcp", "serve"],
        env=server_env(**env),
    )
    return Client(params, mode=mode)


def envelope(result) -> dict:
    """The structured envelope, checked against its text copy."""
    assert result.structured_content is not None
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def test_lists_config_tools_with_enforced_constraints(airlock_bin, app):
    async with stdio(airlock_bin, app["env_config"], app["dir"] / "ledger.db") as client:
        assert client.server_info.name == "airlock"
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"billing.inspect_subscription", "billing.propose_discount"}
        read = tools["billing.inspect_subscription"]
        assert read.input_schema["additionalProperties"] is False
        assert read.input_schema["properties"]["subscription_id"]["maxLength"] == 64
        assert read.input_schema["required"] == ["subscription_id"]
        assert read.annotations.read_only_hint is True
        assert read.meta["synapsor.raw_sql_exposed"] is False
        propose = tools["billing.propose_discount"]
        assert propose.input_schema["properties"]["discount_pct"]["maximum"] == 30
        assert propose.annotations.read_only_hint is False
        assert propose.annotations.destructive_hint is False


async def test_read_proposal_and_resources(airlock_bin, app):
    async with stdio(airlock_bin, app["env_config"], app["dir"] / "ledger.db") as client:
        read = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-1001"})
        assert not read.is_error
        env = envelope(read)
        assert env["ok"] is True and env["kind"] == "read"
        assert env["data"]["id"] == "SUB-1001"
        assert env["_meta"]["tenant_id"] == "northwind"
        evidence_id = env["evidence"]["bundle_id"]

        proposal = await client.call_tool(
            "billing.propose_discount",
            {"subscription_id": "SUB-1002", "discount_pct": 12, "reason": "stdio suite"},
        )
        assert not proposal.is_error, proposal
        penv = envelope(proposal)
        assert penv["ok"] is True and penv["kind"] == "proposal"
        assert penv["source_database_changed"] is False
        proposal_id = penv["proposal"]["id"]

        templates = (await client.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            "synapsor://evidence/{evidence_bundle_id}",
            "synapsor://proposals/{proposal_id}",
            "synapsor://replay/{replay_id}",
        }
        ev = await client.read_resource(f"synapsor://evidence/{evidence_id}")
        assert json.loads(ev.contents[0].text)["evidence_bundle_id"] == evidence_id
        pr = json.loads((await client.read_resource(f"synapsor://proposals/{proposal_id}")).contents[0].text)
        assert pr["proposal"]["proposal_id"] == proposal_id
        assert pr["events"], "a proposal has history"
        rp = json.loads((await client.read_resource(f"synapsor://replay/replay_{proposal_id}")).contents[0].text)
        assert rp["replay_id"] == f"replay_{proposal_id}"
        assert rp["query_audit"] and rp["evidence"]


@pytest.mark.parametrize(
    "args, reason",
    [
        ({"subscription_id": "SUB-1001", "tenant_id": "globex"}, "MODEL_CANNOT_OVERRIDE_BINDING"),
        ({"subscription_id": "SUB-1001", "principal": "admin"}, "MODEL_CANNOT_OVERRIDE_BINDING"),
        ({"subscription_id": "SUB-1001", "role": "billing_lead"}, "MODEL_CANNOT_OVERRIDE_BINDING"),
        ({"subscription_id": "SUB-1001", "surprise": 1}, "ARGUMENT_NOT_DECLARED"),
        ({"subscription_id": 1001}, "ARGUMENT_TYPE_INVALID"),
        ({"subscription_id": "S" * 65}, "ARGUMENT_TOO_LONG"),
        ({}, "ARGUMENT_REQUIRED"),
    ],
)
async def test_rejections_are_tool_errors_the_model_can_read(airlock_bin, app, args, reason):
    async with stdio(airlock_bin, app["env_config"], app["dir"] / "ledger.db") as client:
        result = await client.call_tool("billing.inspect_subscription", args)
        assert result.is_error
        env = envelope(result)
        assert env["ok"] is False
        assert env["error"]["code"] == "INVALID_ARGUMENT"
        assert env["error"]["reason"] == reason
        text = result.content[0].text
        assert "SELECT" not in text and "sqlite" not in text.lower()


async def test_other_tenants_row_and_resource_read_as_not_found(airlock_bin, app):
    store = app["dir"] / "ledger.db"
    async with stdio(airlock_bin, app["env_config"], store, tenant="globex") as globex:
        made = envelope(
            await globex.call_tool(
                "billing.propose_discount",
                {"subscription_id": "SUB-2001", "discount_pct": 15, "reason": "globex's own"},
            )
        )
        globex_proposal = made["proposal"]["id"]
        globex_evidence = made["evidence"]["bundle_id"]
    async with stdio(airlock_bin, app["env_config"], store) as northwind:
        result = await northwind.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-2001"})
        assert result.is_error
        assert envelope(result)["error"]["code"] == "NOT_FOUND_IN_TENANT"
        for uri in (
            f"synapsor://proposals/{globex_proposal}",
            f"synapsor://evidence/{globex_evidence}",
            f"synapsor://replay/replay_{globex_proposal}",
        ):
            with pytest.raises(MCPError) as err:
                await northwind.read_resource(uri)
            assert "not found" in err.value.message.lower()
            assert "globex" not in err.value.message


async def test_unknown_tool_is_a_protocol_error(airlock_bin, app):
    async with stdio(airlock_bin, app["env_config"], app["dir"] / "ledger.db") as client:
        with pytest.raises(MCPError) as err:
            await client.call_tool("billing.drop_tables", {})
        assert err.value.code == -32602


async def test_openai_alias_mode(airlock_bin, app):
    params = StdioServerParameters(
        command=airlock_bin,
        args=["--config", str(app["env_config"]), "--store", str(app["dir"] / "ledger.db"),
              "mcp", "serve", "--alias-mode", "openai"],
        env=server_env(),
    )
    async with Client(params, mode="legacy") as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert names == ["billing__inspect_subscription", "billing__propose_discount"]
        result = await client.call_tool("billing__inspect_subscription", {"subscription_id": "SUB-1001"})
        assert envelope(result)["action"] == "billing.inspect_subscription"


async def test_auto_mode_negotiates_and_calls(airlock_bin, app):
    """The SDK's default mode probes server/discover (2026-07-28) and falls back to initialize."""
    async with stdio(airlock_bin, app["env_config"], app["dir"] / "ledger.db", mode="auto") as client:
        assert client.protocol_version in ("2026-07-28", "2025-11-25")
        result = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-1002"})
        assert envelope(result)["data"]["id"] == "SUB-1002"
