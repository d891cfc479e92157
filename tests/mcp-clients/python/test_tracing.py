"""OpenTelemetry traces: a real OTLP/HTTP receiver built on the official OTLP protobufs
(`opentelemetry-proto`) takes Airlock's spans while the official MCP Python SDK calls tools
over Streamable HTTP and stdio, with W3C trace context in `params._meta` and in HTTP headers; a
proposal is approved and applied through the CLI and its lifecycle must be one linked trace.
Also: JSON logs on stderr, a receiver that is down, and bad trace context."""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from prometheus_client.parser import text_string_to_metric_families

from conftest import APP_SQL, STATIC_TOKEN, HttpServer, free_port, server_env, write_config

pytestmark = pytest.mark.anyio

READ = "billing.inspect_subscription"
PROPOSE = "billing.propose_discount"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
# Values that must never leave in a span: argument values, row values, credentials.
SECRET_REASON = "confidential-reason-7f3a"
NEVER_EXPORTED = [b"SUB-1001", b"SUB-1002", b"Blue Harbor", b"Kestrel", SECRET_REASON.encode(), STATIC_TOKEN.encode()]


def traceparent(trace_id: str = TRACE_ID, span_id: str = PARENT_ID) -> str:
    return f"00-{trace_id}-{span_id}-01"


class Receiver:
    """An OTLP/HTTP trace receiver: decodes each POST /v1/traces as ExportTraceServiceRequest."""

    def __init__(self, port: int = 0):
        self.bodies: list[bytes] = []
        self.spans: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path != "/v1/traces" or self.headers.get("content-type") != "application/x-protobuf":
                    self.send_response(415 if self.path == "/v1/traces" else 404)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest.FromString(body)
                receiver.take(body, request)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, body: bytes, request: ExportTraceServiceRequest):
        found = []
        for rs in request.resource_spans:
            resource = attrs(rs.resource.attributes)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    found.append(
                        {
                            "name": s.name,
                            "kind": s.kind,
                            "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(),
                            "parent": s.parent_span_id.hex(),
                            "trace_state": s.trace_state,
                            "attrs": attrs(s.attributes),
                            "links": [
                                {"trace_id": l.trace_id.hex(), "span_id": l.span_id.hex(), "attrs": attrs(l.attributes)}
                                for l in s.links
                            ],
                            "status": s.status.code,
                            "status_message": s.status.message,
                            "start": s.start_time_unix_nano,
                            "end": s.end_time_unix_nano,
                            "resource": resource,
                            "scope": ss.scope.name,
                        }
                    )
        with self.lock:
            self.bodies.append(body)
            self.spans.extend(found)

    def wait_for(self, predicate, what: str, timeout: float = 20.0) -> list[dict]:
        """Spans matching `predicate`, waiting for the exporter's batch (sent within ~1 s)."""
        deadline = time.time() + timeout
        while True:
            with self.lock:
                hits = [s for s in self.spans if predicate(s)]
            if hits or time.time() > deadline:
                break
            time.sleep(0.05)
        assert hits, f"no span {what}; got {[(s['name'], s['trace_id']) for s in self.spans]}"
        return hits

    def one(self, predicate, what: str) -> dict:
        hits = self.wait_for(predicate, what)
        assert len(hits) == 1, (what, hits)
        return hits[0]

    def close(self):
        self.server.shutdown()


def attrs(kvs) -> dict:
    out = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def traced_app(tmp_path) -> dict:
    db = sqlite3.connect(tmp_path / "app.db")
    db.executescript(APP_SQL)
    db.close()
    config = write_config(tmp_path, "airlock.json", {"provider": "environment"}, {"engine": "sqlite", "path": "app.db"})
    return {"dir": tmp_path, "config": config, "store": tmp_path / "ledger.db"}


def serve(airlock_bin, app, receiver_url: str | None, extra: list[str] | None = None, **env) -> HttpServer:
    args = list(extra or [])
    if receiver_url:
        args += ["--otlp-endpoint", receiver_url]
    return HttpServer(airlock_bin, app["config"], app["store"], extra_args=args, env=server_env(**env))


@contextlib.asynccontextmanager
async def connect(url: str, **headers):
    h = {"Authorization": f"Bearer {STATIC_TOKEN}", **headers}
    async with create_mcp_http_client(headers=h) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
            yield client


def cli(airlock_bin, app, *args, **env) -> subprocess.CompletedProcess:
    full = [airlock_bin, "--config", str(app["config"]), "--store", str(app["store"]), *args]
    return subprocess.run(full, env=server_env(**env), capture_output=True, text=True, timeout=60)


def assert_nothing_leaked(receiver: Receiver):
    with receiver.lock:
        bodies = b"".join(receiver.bodies)
    for value in NEVER_EXPORTED:
        assert value not in bodies, value


async def test_a_tool_call_is_a_server_span_under_the_meta_parent_with_db_and_ledger_children(
    airlock_bin, traced_app, receiver
):
    srv = serve(airlock_bin, traced_app, receiver.url, OTEL_SERVICE_NAME="airlock-suite")
    try:
        async with connect(srv.url) as client:
            result = await client.call_tool(
                READ,
                {"subscription_id": "SUB-1001"},
                meta={"traceparent": traceparent(), "tracestate": "rojo=00f067aa0ba902b7"},
            )
            assert not result.is_error
    finally:
        srv.stop()
    call = receiver.one(lambda s: s["name"] == f"tools/call {READ}", "for the tool call")
    assert call["kind"] == Span.SPAN_KIND_SERVER
    assert call["trace_id"] == TRACE_ID and call["parent"] == PARENT_ID
    assert call["trace_state"] == "rojo=00f067aa0ba902b7"
    a = call["attrs"]
    assert a["mcp.method.name"] == "tools/call"
    assert a["gen_ai.tool.name"] == READ
    assert a["gen_ai.operation.name"] == "execute_tool"
    assert a["network.transport"] == "tcp" and a["network.protocol.name"] == "http"
    assert a["mcp.session.id"]
    assert a["jsonrpc.request.id"]
    assert a["mcp.protocol.version"]
    assert "error.type" not in a
    assert call["end"] >= call["start"] > 0
    assert call["resource"]["service.name"] == "airlock-suite"
    assert call["scope"] == "airlock"
    db = receiver.one(lambda s: s["name"] == "airlock.db.select", "for the read")
    assert db["kind"] == Span.SPAN_KIND_CLIENT
    assert (db["trace_id"], db["parent"]) == (TRACE_ID, call["span_id"])
    assert db["attrs"]["db.system.name"] == "sqlite"
    assert db["attrs"]["db.collection.name"] == "subscriptions"
    assert db["attrs"]["db.response.returned_rows"] == 1
    ledger = receiver.one(lambda s: s["name"] == "airlock.ledger.write", "for the ledger record")
    assert (ledger["trace_id"], ledger["parent"]) == (TRACE_ID, call["span_id"])
    assert_nothing_leaked(receiver)


async def test_the_http_header_is_the_parent_without_meta_and_a_link_with_it(airlock_bin, traced_app, receiver):
    header_trace = "0af7651916cd43dd8448eb211c80319c"
    header_span = "b7ad6b7169203331"
    srv = serve(airlock_bin, traced_app, receiver.url)
    try:
        async with connect(srv.url, traceparent=traceparent(header_trace, header_span)) as client:
            assert not (await client.call_tool(READ, {"subscription_id": "SUB-1002"})).is_error
            assert not (
                await client.call_tool(READ, {"subscription_id": "SUB-1002"}, meta={"traceparent": traceparent()})
            ).is_error
    finally:
        srv.stop()
    calls = receiver.wait_for(lambda s: s["name"] == f"tools/call {READ}", "for the calls")
    by_header = [c for c in calls if c["trace_id"] == header_trace]
    assert by_header and all(c["parent"] == header_span for c in by_header), calls
    by_meta = [c for c in calls if c["trace_id"] == TRACE_ID]
    assert len(by_meta) == 1, calls
    assert by_meta[0]["parent"] == PARENT_ID
    assert [(l["trace_id"], l["span_id"]) for l in by_meta[0]["links"]] == [(header_trace, header_span)]
    assert_nothing_leaked(receiver)


async def test_bad_trace_context_is_ignored_and_the_call_still_answers(airlock_bin, traced_app, receiver):
    srv = serve(airlock_bin, traced_app, receiver.url)
    bad = [
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
        "'; DROP TABLE spans; --",
        f"00-{TRACE_ID}-{PARENT_ID}-01-extra",
    ]
    try:
        async with connect(srv.url) as client:
            for value in bad:
                result = await client.call_tool(READ, {"subscription_id": "SUB-1001"}, meta={"traceparent": value})
                assert not result.is_error, value
            # A valid parent with an oversize tracestate: the parent stays, the state is dropped.
            huge = ",".join(f"k{i}=" + "v" * 40 for i in range(40))
            result = await client.call_tool(
                READ, {"subscription_id": "SUB-1001"}, meta={"traceparent": traceparent(), "tracestate": huge}
            )
            assert not result.is_error
            # A non-string traceparent is ignored too.
            result = await client.call_tool(READ, {"subscription_id": "SUB-1001"}, meta={"traceparent": 42})
            assert not result.is_error
    finally:
        srv.stop()
    calls = receiver.wait_for(lambda s: s["name"] == f"tools/call {READ}", "for the calls", timeout=20)
    deadline = time.time() + 10
    while len(calls) < len(bad) + 2 and time.time() < deadline:
        time.sleep(0.05)
        calls = receiver.wait_for(lambda s: s["name"] == f"tools/call {READ}", "for the calls")
    assert len(calls) == len(bad) + 2, calls
    roots = [c for c in calls if c["parent"] == ""]
    assert len(roots) == len(bad) + 1, calls
    assert all(c["trace_id"] != TRACE_ID for c in roots)
    kept = [c for c in calls if c["trace_id"] == TRACE_ID]
    assert len(kept) == 1 and kept[0]["parent"] == PARENT_ID and kept[0]["trace_state"] == ""


async def test_a_proposal_lifecycle_is_one_trace_linked_to_the_proposing_call(airlock_bin, traced_app, receiver):
    srv = serve(airlock_bin, traced_app, receiver.url)
    try:
        async with connect(srv.url) as client:
            made = await client.call_tool(
                PROPOSE,
                {"subscription_id": "SUB-1002", "discount_pct": 12, "reason": SECRET_REASON},
                meta={"traceparent": traceparent()},
            )
            assert not made.is_error, made
            proposal_id = made.structured_content["proposal"]["id"]
            # Refused by the guards (over the bound): a tool error span.
            refused = await client.call_tool(
                PROPOSE, {"subscription_id": "SUB-1002", "discount_pct": 99, "reason": SECRET_REASON}
            )
            assert refused.is_error
    finally:
        srv.stop()
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    approve = cli(airlock_bin, traced_app, "proposals", "approve", proposal_id, "--actor", "dana", "--yes", **otel)
    assert approve.returncode == 0, approve.stderr
    apply = cli(airlock_bin, traced_app, "apply", proposal_id, "--actor", "dana", **otel)
    assert apply.returncode == 0, apply.stderr

    call = receiver.one(
        lambda s: s["name"] == f"tools/call {PROPOSE}" and s["trace_id"] == TRACE_ID, "for the proposing call"
    )
    assert call["parent"] == PARENT_ID
    assert call["attrs"]["airlock.proposal.id"] == proposal_id
    root = receiver.one(lambda s: s["name"] == "airlock.proposal", "for the lifecycle root")
    assert root["parent"] == "" and root["attrs"]["airlock.proposal.id"] == proposal_id
    assert root["trace_id"] != TRACE_ID
    # Linked both ways.
    assert (root["trace_id"], root["span_id"]) in [(l["trace_id"], l["span_id"]) for l in call["links"]]
    assert (TRACE_ID, call["span_id"]) in [(l["trace_id"], l["span_id"]) for l in root["links"]]
    decide = receiver.one(lambda s: s["name"] == "airlock.proposal.decide", "for the approval")
    assert (decide["trace_id"], decide["parent"]) == (root["trace_id"], root["span_id"])
    assert decide["attrs"]["airlock.decision"] == "approve"
    assert decide["attrs"]["airlock.proposal.state"] == "approved"
    applied = receiver.one(lambda s: s["name"] == "airlock.proposal.apply", "for the apply")
    assert (applied["trace_id"], applied["parent"]) == (root["trace_id"], root["span_id"])
    assert applied["attrs"]["airlock.receipt.status"] == "applied"
    execute = receiver.one(lambda s: s["name"] == "airlock.writeback.execute", "for the executor")
    assert (execute["trace_id"], execute["parent"]) == (root["trace_id"], applied["span_id"])
    # The refused call: error.type tool_error, status ERROR with Airlock's code only.
    failed = receiver.one(
        lambda s: s["name"] == f"tools/call {PROPOSE}" and s["trace_id"] != TRACE_ID, "for the refused call"
    )
    assert failed["attrs"]["error.type"] == "tool_error"
    assert failed["status"] == Status.STATUS_CODE_ERROR
    assert failed["status_message"] == failed["attrs"]["airlock.error.code"]
    assert_nothing_leaked(receiver)


async def test_stdio_calls_take_their_parent_from_meta(airlock_bin, traced_app, receiver):
    params = StdioServerParameters(
        command=airlock_bin,
        args=["--config", str(traced_app["config"]), "--store", str(traced_app["store"]), "mcp", "serve",
              "--otlp-endpoint", receiver.url],
        env=server_env(),
    )
    async with Client(params, mode="legacy") as client:
        result = await client.call_tool(READ, {"subscription_id": "SUB-1001"}, meta={"traceparent": traceparent()})
        assert not result.is_error
    call = receiver.one(lambda s: s["name"] == f"tools/call {READ}", "for the stdio call")
    assert (call["trace_id"], call["parent"]) == (TRACE_ID, PARENT_ID)
    assert call["attrs"]["network.transport"] == "pipe"
    assert "mcp.session.id" not in call["attrs"]


async def test_the_json_rpc_bridge_reads_meta_and_headers(airlock_bin, traced_app, receiver):
    srv = HttpServer(
        airlock_bin, traced_app["config"], traced_app["store"], verb="serve-http",
        extra_args=["--otlp-endpoint", receiver.url], env=server_env(),
    )
    try:
        body = {"jsonrpc": "2.0", "id": "req-7", "method": "tools/call",
                "params": {"name": READ, "arguments": {"subscription_id": "SUB-1001"},
                           "_meta": {"traceparent": traceparent()}}}
        reply = httpx.post(srv.url, json=body, headers={"Authorization": f"Bearer {STATIC_TOKEN}"}, timeout=10)
        assert reply.status_code == 200 and not reply.json()["result"]["isError"]
    finally:
        srv.stop()
    call = receiver.one(lambda s: s["name"] == f"tools/call {READ}", "for the bridge call")
    assert (call["trace_id"], call["parent"]) == (TRACE_ID, PARENT_ID)
    assert call["attrs"]["jsonrpc.request.id"] == "req-7"


def scrape(url: str) -> dict:
    text = httpx.get(url, timeout=10).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def dropped(families: dict, reason: str) -> float:
    return sum(
        s.value for s in families["airlock_trace_spans_dropped"].samples
        if s.name == "airlock_trace_spans_dropped_total" and s.labels["reason"] == reason
    )


def sample(families: dict, family: str, name: str) -> float:
    return sum(s.value for s in families[family].samples if s.name == name)


async def test_a_receiver_that_is_down_gets_the_held_spans_when_it_comes_up(airlock_bin, traced_app):
    port = free_port()
    dead = f"http://127.0.0.1:{port}"  # nothing listens there yet
    metrics_port = free_port()
    srv = serve(airlock_bin, traced_app, dead, ["--metrics-listen", f"127.0.0.1:{metrics_port}"])
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    receiver = None
    try:
        async with connect(srv.url) as client:
            for _ in range(5):
                result = await client.call_tool(READ, {"subscription_id": "SUB-1001"}, meta={"traceparent": traceparent()})
                assert not result.is_error
        deadline = time.time() + 20
        retries = lambda f: sample(f, "airlock_trace_export_retries", "airlock_trace_export_retries_total")  # noqa: E731
        while retries(scrape(metrics)) == 0 and time.time() < deadline:
            time.sleep(0.1)
        families = scrape(metrics)
        # Each call makes three spans (call, read, ledger record): held for a retry, none lost.
        assert retries(families) >= 1
        assert sample(families, "airlock_trace_spans_retrying", "airlock_trace_spans_retrying") >= 3
        assert dropped(families, "export_failed") == 0
        assert families["airlock_trace_spans_exported"].samples[0].value == 0
        async with connect(srv.url) as client:
            assert not (await client.call_tool(READ, {"subscription_id": "SUB-1001"})).is_error
        # The receiver comes up where it was expected: the next retry delivers what was held.
        receiver = Receiver(port)
        calls = receiver.wait_for(lambda s: s["name"] == f"tools/call {READ}", "held tool call", timeout=60)
        assert calls[0]["trace_id"] == TRACE_ID
        deadline = time.time() + 60
        while time.time() < deadline:
            families = scrape(metrics)
            if sample(families, "airlock_trace_spans_retrying", "airlock_trace_spans_retrying") == 0:
                break
            time.sleep(0.1)
        assert families["airlock_trace_spans_exported"].samples[0].value >= 15
        assert dropped(families, "export_failed") == 0
    finally:
        srv.stop()
        if receiver is not None:
            receiver.close()


async def test_traces_are_off_by_default(airlock_bin, traced_app):
    metrics_port = free_port()
    srv = serve(airlock_bin, traced_app, None, ["--metrics-listen", f"127.0.0.1:{metrics_port}"])
    try:
        async with connect(srv.url) as client:
            assert not (await client.call_tool(READ, {"subscription_id": "SUB-1001"})).is_error
        families = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        assert "airlock_trace_spans_dropped" not in families
        assert "airlock_tool_calls" in families
    finally:
        srv.stop()


async def test_json_logs_are_one_object_per_line_with_trace_ids(airlock_bin, traced_app, receiver):
    srv = serve(airlock_bin, traced_app, receiver.url, ["--log-format", "json"], AIRLOCK_LOG="info")
    try:
        async with connect(srv.url) as client:
            missing = await client.call_tool(
                READ, {"subscription_id": "SUB-NOPE"}, meta={"traceparent": traceparent()}
            )
            assert missing.is_error
    finally:
        srv.stop()
    lines = [l for l in Path(srv.stderr.name).read_text().splitlines() if l.strip()]
    assert lines
    records = [json.loads(l) for l in lines]  # every line is one JSON object
    assert all(isinstance(r, dict) and "level" in r and "fields" in r for r in records), records
    refused = [r for r in records if r["fields"].get("message") == "tool call refused"]
    assert refused, records
    call = receiver.one(lambda s: s["name"] == f"tools/call {READ}", "for the refused call")
    assert refused[0]["span"]["trace_id"] == TRACE_ID
    assert refused[0]["span"]["span_id"] == call["span_id"]


def test_json_logs_from_the_environment_keep_stdio_stdout_pure(airlock_bin, traced_app):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    frames = "\n".join(json.dumps(m) for m in [
        init,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": READ, "arguments": {"subscription_id": "SUB-NOPE"}}},
    ]) + "\n"
    proc = subprocess.Popen(
        [airlock_bin, "--config", str(traced_app["config"]), "--store", str(traced_app["store"]), "mcp", "serve"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=server_env(AIRLOCK_LOG_FORMAT="json", AIRLOCK_LOG="info"),
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    proc.stdin.write(frames)
    proc.stdin.flush()
    out = []
    while len(out) < 2:
        out.append(json.loads(lines.get(timeout=30)))  # every stdout line is a JSON-RPC frame
    proc.stdin.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=30)
    assert sorted(m.get("id") for m in out) == [1, 2], out
    assert all(m.get("jsonrpc") == "2.0" for m in out)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)
    errs = [json.loads(l) for l in done.stderr.splitlines() if l.strip()]
    assert any(r["fields"].get("message") == "tool call refused" for r in errs), done.stderr
    # Without traces no line carries trace ids (rmcp's own log spans may still show).
    assert all("trace_id" not in r.get("span", {}) for r in errs), errs


def test_a_bad_endpoint_or_sampler_is_refused_with_a_hint(airlock_bin, traced_app):
    done = subprocess.run(
        [airlock_bin, "--config", str(traced_app["config"]), "--store", str(traced_app["store"]), "mcp", "serve",
         "--otlp-endpoint", "ftp://collector"],
        input="", env=server_env(), capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0 and "http://" in done.stderr
    done = subprocess.run(
        [airlock_bin, "--config", str(traced_app["config"]), "--store", str(traced_app["store"]), "mcp", "serve"],
        input="", env=server_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_TRACES_SAMPLER="sometimes"),
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0 and "traceidratio" in done.stderr
