-- wrk script: stateless MCP 2026-07-28 tools/call (no session; the request carries the
-- protocol version and client capabilities in params._meta and the Mcp-Method / Mcp-Name
-- headers). Driven by scripts/bench-http.sh --sessions 0.
-- env: MCP_TOKEN (bearer), MCP_TOOL, MCP_ARGS (JSON object; "{seq}" becomes a per-call number)
local token = os.getenv("MCP_TOKEN") or ""
local tool  = os.getenv("MCP_TOOL") or "billing.inspect_invoice"
local args  = os.getenv("MCP_ARGS") or "{}"
local meta  = '{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
              '"io.modelcontextprotocol/clientCapabilities":{}}'

local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(_)
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
  wrk.headers["Mcp-Method"] = "tools/call"
  wrk.headers["Mcp-Name"] = tool
end

function request()
  n = n + 1
  local id = tid * 100000000 + n
  local a = string.gsub(args, "{seq}", tostring(id))
  return wrk.format(nil, nil, nil, '{"jsonrpc":"2.0","id":' .. id ..
    ',"method":"tools/call","params":{"_meta":' .. meta .. ',"name":"' .. tool ..
    '","arguments":' .. a .. '}}')
end

function done(summary, latency, _)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("calls/s %.1f  p50 %.3f ms  p99 %.3f ms  " ..
    "errors(connect/read/write/timeout/status) %d/%d/%d/%d/%d\n",
    summary.requests / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
