"""A TCP relay that delays every chunk by a fixed time in each direction, to measure what
round trips cost when the database is not on the same machine (this machine has no netem).

    python3 scripts/bench/delay-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Each chunk is forwarded DELAY_MS after it arrived, in order, so a round trip gains
2 x DELAY_MS and requests sent together (pipelined) pay the delay once. Example, the
sequential apply benchmark against a source 1 ms away (the ledger is a local SQLite file):

    python3 scripts/bench/delay-proxy.py 6543 5432 1 &
    AIRLOCK_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:6543/postgres \\
      AIRLOCK_BENCH_N=300 cargo bench -p airlock-writeback --bench apply_throughput
"""

import asyncio
import sys
import time


async def relay(reader, writer, delay):
    """Copies reader to writer, each chunk `delay` seconds after it arrived."""
    queue = asyncio.Queue()

    async def receive():
        while True:
            data = await reader.read(65536)
            queue.put_nowait((time.monotonic(), data))
            if not data:
                return

    async def send():
        while True:
            arrived, data = await queue.get()
            wait = arrived + delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(receive(), send(), return_exceptions=True)


async def main(listen, target, delay):
    async def connection(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(
            relay(client_reader, server_writer, delay),
            relay(server_reader, client_writer, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(connection, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: delay-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS")
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000.0))
