"""Starts an installed Airlock through a launcher and checks it with the official MCP SDK.

    python mcp_smoke.py LABEL COMMAND [ARGS…]

COMMAND ARGS… must start `airlock mcp serve` over stdio (through `airlock-mcp`, `uvx`, `npx`,
…) on the garden-sqlite example, whose database run.sh seeded with plot A-1 in garden
`hillside` and B-7 in `riverside`, with GARDEN_ID=hillside in the environment. The check:
initialize, tools/list shows the example's two tools, a read of A-1 returns its row and a read
of B-7 (another garden) is refused. Exits 1 with the reason otherwise.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

EXPECTED_TOOLS = ["plots.inspect_plot", "plots.propose_status"]


def payload(result) -> dict:
    return json.loads(result.content[0].text)


async def check(command: str, args: list[str]) -> str:
    params = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            if tools != EXPECTED_TOOLS:
                raise AssertionError(f"tools/list gave {tools}, expected {EXPECTED_TOOLS}")
            own = payload(await session.call_tool("plots.inspect_plot", {"plot_no": "A-1"}))
            if own.get("ok") is not True or own["data"]["holder"] != "Mara":
                raise AssertionError(f"reading A-1 gave {own}")
            other = payload(await session.call_tool("plots.inspect_plot", {"plot_no": "B-7"}))
            if other.get("ok") is not False or other["error"]["code"] != "NOT_FOUND_IN_TENANT":
                raise AssertionError(f"reading B-7 of another garden gave {other}")
            return f"{init.server_info.name} {init.server_info.version}, {len(tools)} tools"


def main() -> None:
    label, command, *args = sys.argv[1:]
    try:
        summary = asyncio.run(asyncio.wait_for(check(command, args), timeout=120))
    except Exception as err:  # noqa: BLE001 - any failure is this check's failure
        # The SDK's task groups wrap the cause: show the innermost errors.
        while isinstance(err, BaseExceptionGroup) and len(err.exceptions) == 1:
            err = err.exceptions[0]
        print(f"FAIL {label}: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
    print(f"ok   {label}: {summary}")


if __name__ == "__main__":
    main()
