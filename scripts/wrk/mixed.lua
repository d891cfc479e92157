-- wrk script for scripts/soak.sh: a mix of stateless MCP 2026-07-28 tools/call requests on the
-- demo app (4 reads to 1 proposal), checking every answer. A reply that is not a JSON-RPC
-- result, or a tool result with isError, counts as an error.
-- env: MCP_TOKEN (bearer)
local token = os.getenv("MCP_TOKEN") or ""
local meta  = '{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
              '"io.modelcontextprotocol/clientCapabilities":{}}'
local calls = {
  {"billing.inspect_subscription", '{"subscription_id":"SUB-1001"}'},
  {"support.inspect_ticket", '{"ticket_id":"T-501"}'},
  {"billing.inspect_subscription", '{"subscription_id":"SUB-1002"}'},
  {"support.inspect_ticket", '{"ticket_id":"T-502"}'},
  {"billing.propose_discount", '{"subscription_id":"SUB-1001","discount_pct":5,"reason":"soak {seq}"}'},
}

local threads = {}
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(_)
  n = 0
  bad = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
  wrk.headers["Mcp-Method"] = "tools/call"
end

function request()
  n = n + 1
  local id = tid * 100000000 + n
  local c = calls[(n % #calls) + 1]
  wrk.headers["Mcp-Name"] = c[1]
  local a = string.gsub(c[2], "{seq}", tostring(id))
  return wrk.format(nil, nil, nil, '{"jsonrpc":"2.0","id":' .. id ..
    ',"method":"tools/call","params":{"_meta":' .. meta .. ',"name":"' .. c[1] ..
    '","arguments":' .. a .. '}}')
end

function response(status, _, body)
  if status ~= 200 or not string.find(body, '"result"', 1, true)
     or string.find(body, '"isError":true', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, _)
  local s = summary.duration / 1e6
  local e = summary.errors
  local checked = 0
  for _, t in ipairs(threads) do checked = checked + (t:get("bad") or 0) end
  io.write(string.format("%.1f %.3f %.3f %d\n",
    summary.requests / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status + checked))
end
