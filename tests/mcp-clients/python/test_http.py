"""The official MCP Python SDK against `airlock mcp serve-streamable-http`, plus raw HTTP checks
of authentication, JWT claims, Host/Origin validation and session rules."""

from __future__ import annotations

import contextlib
import json
import time

import httpx2 as httpx
import jwt as pyjwt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from conftest import AUDIENCE, ISSUER, STATIC_TOKEN, hs256

pytestmark = pytest.mark.anyio

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw-suite", "version": "0"},
    },
}
ACCEPT = "application/json, text/event-stream"


@contextlib.asynccontextmanager
async def connect(url: str, token: str | None, mode: str = "legacy"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with create_mcp_http_client(headers=headers) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


def envelope(result) -> dict:
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def post(url, body, token=STATIC_TOKEN, **headers):
    h = {"Accept": ACCEPT, "Content-Type": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers)
    return httpx.post(url, content=json.dumps(body), headers=h, timeout=10)


def sse_json(response) -> dict:
    """The JSON-RPC message of a JSON or SSE reply."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no message in {response.text!r}")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sdk_lists_calls_proposes_and_reads(http_server, mode):
    async with connect(http_server.url, STATIC_TOKEN, mode) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert names == ["billing.inspect_subscription", "billing.propose_discount"]
        read = envelope(await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-1001"}))
        assert read["ok"] and read["data"]["id"] == "SUB-1001"
        made = envelope(
            await client.call_tool(
                "billing.propose_discount",
                {"subscription_id": "SUB-1001", "discount_pct": 7, "reason": f"http {mode} {time.time()}"},
            )
        )
        assert made["ok"] and made["kind"] == "proposal"
        doc = json.loads((await client.read_resource(f"synapsor://proposals/{made['proposal']['id']}")).contents[0].text)
        assert doc["proposal"]["tenant_id"] == "northwind"


async def test_stateless_2026_07_28_negotiated_by_auto_mode(http_server):
    async with connect(http_server.url, STATIC_TOKEN, "2026-07-28") as client:
        assert client.protocol_version == "2026-07-28"
        result = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-1002"})
        assert envelope(result)["data"]["id"] == "SUB-1002"


async def test_sdk_tool_errors_over_http(http_server):
    async with connect(http_server.url, STATIC_TOKEN) as client:
        r = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-1001", "tenant_id": "globex"})
        assert r.is_error and envelope(r)["error"]["reason"] == "MODEL_CANNOT_OVERRIDE_BINDING"
        r = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-2001"})
        assert r.is_error and envelope(r)["error"]["code"] == "NOT_FOUND_IN_TENANT"
        r = await client.call_tool("billing.propose_discount", {"subscription_id": "SUB-1001", "discount_pct": "a lot", "reason": "x"})
        assert r.is_error and envelope(r)["error"]["reason"] == "ARGUMENT_TYPE_INVALID"
        with pytest.raises(MCPError):
            await client.call_tool("nope.nothing", {})


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_missing_or_invalid_bearer_is_401(http_server, token):
    r = post(http_server.url, INIT, token=token)
    assert r.status_code == 401
    assert "Bearer" in r.headers.get("www-authenticate", "")


async def test_sdk_without_token_fails(http_server):
    with pytest.raises(Exception):
        async with connect(http_server.url, None) as client:
            await client.list_tools()


def test_bad_origin_and_host_are_403(http_server):
    assert post(http_server.url, INIT, Origin="https://evil.example").status_code == 403
    assert post(http_server.url, INIT, Origin="http://localhost:5173").status_code == 200
    assert post(http_server.url, INIT, Host="evil.example").status_code == 403


def test_cors_answers_allowed_origins_only(http_server):
    browser = "http://localhost:5173"
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type, mcp-session-id"}
    pre = httpx.options(http_server.url, headers={"Origin": browser, **preflight})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == browser
    assert "POST" in pre.headers["access-control-allow-methods"]
    for header in ("authorization", "mcp-session-id", "mcp-protocol-version", "last-event-id"):
        assert header in pre.headers["access-control-allow-headers"]
    # The real request gets its origin back and may read the session id.
    real = post(http_server.url, INIT, Origin=browser)
    assert real.status_code == 200
    assert real.headers["access-control-allow-origin"] == browser
    assert "mcp-session-id" in real.headers["access-control-expose-headers"]
    # A refused credential still tells the browser why (401 readable, no tool ran).
    denied = post(http_server.url, INIT, token="wrong", Origin=browser)
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == browser
    # A foreign origin gets no preflight and no CORS header; a request without Origin (not a
    # browser) gets no CORS headers at all.
    evil = httpx.options(http_server.url, headers={"Origin": "https://evil.example", **preflight})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    assert "access-control-allow-origin" not in post(http_server.url, INIT).headers


def test_health_and_readiness(http_server):
    h = httpx.get(http_server.base + "/healthz").json()
    assert h["ok"] is True and h["transport"] == "streamable-http" and h["tools"] == 2
    assert httpx.get(http_server.base + "/readyz").status_code == 200
    assert httpx.get(http_server.base + "/nothing").status_code == 404


def test_session_rules(http_server):
    first = post(http_server.url, INIT)
    assert first.status_code == 200
    sid = first.headers["mcp-session-id"]
    headers = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"}
    post(http_server.url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, **headers)
    # A second initialize on the same session is refused.
    again = sse_json(post(http_server.url, {**INIT, "id": 2}, **headers))
    assert again["error"]["code"] == -32600
    # The session works, and tool errors are results, not protocol errors.
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "billing.inspect_subscription", "arguments": {"subscription_id": "SUB-1001", "tenant_id": "x"}}}
    reply = sse_json(post(http_server.url, call, **headers))
    assert reply["result"]["isError"] is True
    # Unsupported protocol version header gets 400.
    bad = post(http_server.url, call, **{**headers, "MCP-Protocol-Version": "1999-01-01"})
    assert bad.status_code == 400
    # DELETE ends the session; it is then unknown.
    d = httpx.delete(http_server.url, headers={**headers, "Authorization": f"Bearer {STATIC_TOKEN}"})
    assert d.status_code in (200, 202, 204)
    assert post(http_server.url, call, **headers).status_code == 404


def test_malformed_requests_do_not_break_the_server(http_server):
    assert 400 <= post(http_server.url, "not an object").status_code < 500
    r = httpx.post(http_server.url, content=b"{not json", headers={
        "Accept": ACCEPT, "Content-Type": "application/json", "Authorization": f"Bearer {STATIC_TOKEN}"})
    assert 400 <= r.status_code < 500
    big = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "x" * (2 * 1024 * 1024)}}
    assert post(http_server.url, big).status_code == 413
    assert httpx.get(http_server.base + "/healthz").status_code == 200


def test_unknown_protocol_version_in_initialize_gets_a_supported_one(http_server):
    r = post(http_server.url, {**INIT, "params": {**INIT["params"], "protocolVersion": "2099-01-01"}})
    assert r.status_code == 200
    assert sse_json(r)["result"]["protocolVersion"] in ("2025-11-25", "2025-06-18")


# ---------------------------------------------------------------- JWT (http_claims)

async def test_jwt_claims_scope_every_call(jwt_server):
    northwind = hs256({"org": "northwind", "sub": "nw_agent"})
    globex = hs256({"org": "globex", "sub": "gx_agent"})
    async with connect(jwt_server.url, northwind) as client:
        ok = envelope(await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-1001"}))
        assert ok["_meta"]["tenant_id"] == "northwind" and ok["_meta"]["provenance"] == "http_claims"
        assert ok["_meta"]["principal"] == "nw_agent"
        denied = await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-2001"})
        assert envelope(denied)["error"]["code"] == "NOT_FOUND_IN_TENANT"
        made = envelope(await client.call_tool(
            "billing.propose_discount",
            {"subscription_id": "SUB-1001", "discount_pct": 3, "reason": f"jwt {time.time()}"}))
        proposal_id = made["proposal"]["id"]
    async with connect(jwt_server.url, globex) as client:
        ok = envelope(await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-2001"}))
        assert ok["_meta"]["tenant_id"] == "globex"
        with pytest.raises(MCPError):
            await client.read_resource(f"synapsor://proposals/{proposal_id}")


@pytest.mark.parametrize(
    "token",
    [
        hs256({"org": "northwind"}, secret="the-wrong-secret-the-wrong-secret-xx"),
        hs256({"org": "northwind", "exp": int(time.time()) - 3600}),
        hs256({"org": "northwind", "aud": "someone-else"}),
        hs256({"org": "northwind", "iss": "https://evil.example"}),
        hs256({"org": "northwind", "nbf": int(time.time()) + 3600}),
        hs256({"org": None}),
        hs256({"org": "northwind", "exp": None}),
        # Issue 8.1: a configured issuer/audience makes the claim required.
        hs256({"org": "northwind", "iss": None}),
        hs256({"org": "northwind", "aud": None}),
        hs256({"org": "northwind", "iss": None, "aud": None}),
        hs256({"org": "northwind", "aud": ["someone-else", 42]}),
        hs256({"org": "northwind", "exp": "2999-01-01"}),
        STATIC_TOKEN,  # the static token is not configured for this server
        "not.a.jwt",
    ],
    ids=["bad-signature", "expired", "wrong-audience", "wrong-issuer", "not-yet-valid",
         "no-tenant-claim", "no-exp", "no-iss", "no-aud", "no-iss-no-aud", "aud-array-without-ours",
         "exp-not-a-number", "static-token", "garbage"],
)
def test_bad_jwts_are_401_and_no_tool_runs(jwt_server, token):
    r = post(jwt_server.url, INIT, token=token)
    assert r.status_code == 401


def test_jwt_session_cannot_be_used_by_another_credential(jwt_server):
    a = hs256({"org": "northwind", "sub": "a"})
    b = hs256({"org": "globex", "sub": "b"})
    first = post(jwt_server.url, INIT, token=a)
    sid = first.headers["mcp-session-id"]
    headers = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"}
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    assert post(jwt_server.url, listing, token=a, **headers).status_code == 200
    assert post(jwt_server.url, listing, token=b, **headers).status_code == 404


async def test_rs256_jwks(jwks_server, app):
    key = app["rsa_key"]
    token = pyjwt.encode(
        {"tenant_id": "globex", "sub": "rs_agent", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600},
        key, algorithm="RS256", headers={"kid": "suite-key"})
    async with connect(jwks_server.url, token) as client:
        ok = envelope(await client.call_tool("billing.inspect_subscription", {"subscription_id": "SUB-2001"}))
        assert ok["_meta"]["tenant_id"] == "globex"
    for missing in ("iss", "aud"):
        claims = {"tenant_id": "globex", "sub": "rs_agent", "iss": ISSUER, "aud": AUDIENCE,
                  "exp": int(time.time()) + 600}
        del claims[missing]
        bare = pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": "suite-key"})
        assert post(jwks_server.url, INIT, token=bare).status_code == 401, missing
    with_array = pyjwt.encode(
        {"tenant_id": "globex", "sub": "rs_agent", "iss": ISSUER, "aud": ["other", AUDIENCE],
         "exp": int(time.time()) + 600}, key, algorithm="RS256", headers={"kid": "suite-key"})
    assert post(jwks_server.url, INIT, token=with_array).status_code == 200
    forged = pyjwt.encode({"tenant_id": "globex", "sub": "x", "iss": ISSUER, "aud": AUDIENCE,
                           "exp": int(time.time()) + 600}, "secret-secret-secret-secret-secret!", algorithm="HS256")
    assert post(jwks_server.url, INIT, token=forged).status_code == 401
