import json, subprocess, sys, time, statistics, os
exe, config, store, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
msgs = [
    {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"b","version":"0"}}},
    {"jsonrpc":"2.0","method":"notifications/initialized"},
    {"jsonrpc":"2.0","id":2,"method":"tools/list"},
]
payload = "".join(json.dumps(m)+"\n" for m in msgs).encode()
times = []
for _ in range(n):
    t0 = time.perf_counter()
    p = subprocess.Popen([exe, "--config", config, "--store", store, "mcp", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdin.write(payload); p.stdin.flush()
    while True:
        line = p.stdout.readline()
        if not line: raise SystemExit("server closed")
        m = json.loads(line)
        if m.get("id") == 2:
            assert m["result"]["tools"], m
            break
    times.append((time.perf_counter() - t0) * 1000)
    p.stdin.close(); p.wait()
times.sort()
print(f"n={n} p50={statistics.median(times):.2f} ms p90={times[int(n*0.9)-1]:.2f} ms min={times[0]:.2f} ms")
