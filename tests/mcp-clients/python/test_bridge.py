"""`airlock mcp serve-http`: the authenticated JSON-RPC bridge."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from conftest import STATIC_TOKEN, HttpServer


@pytest.fixture(scope="module")
def bridge(airlock_bin, app):
    srv = HttpServer(airlock_bin, app["env_config"], app["dir"] / "ledger.db", verb="serve-http")
    yield srv
    srv.stop()


def rpc(bridge, method, params=None, token=STATIC_TOKEN, **headers):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    h.update(headers)
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or {}}
    return httpx.post(bridge.url, json=body, headers=h, timeout=10)


def test_list_call_and_read(bridge):
    tools = rpc(bridge, "tools/list").json()["result"]["tools"]
    assert [t["name"] for t in tools] == ["billing.inspect_subscription", "billing.propose_discount"]
    r = rpc(bridge, "tools/call", {"name": "billing.inspect_subscription", "arguments": {"subscription_id": "SUB-1001"}}).json()
    assert r["id"] == 7 and r["result"]["isError"] is False
    ev = r["result"]["structuredContent"]["evidence"]["bundle_id"]
    doc = rpc(bridge, "resources/read", {"uri": f"synapsor://evidence/{ev}"}).json()
    assert doc["result"]["contents"][0]["mimeType"] == "application/json"


def test_rejections(bridge):
    r = rpc(bridge, "tools/call", {"name": "billing.inspect_subscription",
                                   "arguments": {"subscription_id": "SUB-1001", "tenant_id": "globex"}}).json()
    assert r["result"]["isError"] is True
    assert r["result"]["structuredContent"]["error"]["reason"] == "MODEL_CANNOT_OVERRIDE_BINDING"
    assert rpc(bridge, "tools/call", {"name": "no.such"}).json()["error"]["code"] == -32602
    assert rpc(bridge, "nope").json()["error"] == {"code": -32601, "message": "Method not found: nope"}
    assert rpc(bridge, "tools/list", token=None).status_code == 401
    assert rpc(bridge, "tools/list", token="wrong").status_code == 401
    assert rpc(bridge, "tools/list", Origin="https://evil.example").status_code == 403
    assert httpx.get(bridge.url, headers={"Authorization": f"Bearer {STATIC_TOKEN}"}).status_code == 405
    bad = httpx.post(bridge.url, content=b"{", headers={"Authorization": f"Bearer {STATIC_TOKEN}"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == -32700
