#!/usr/bin/env python3
"""Load on a voltwire status page: N Server-Sent-Events clients reading `/api/events` and
R requests per second on `/api/state` (each on a new connection), for S seconds.

Usage: load.py HOST:PORT [--sse 50] [--rate 200] [--seconds 30]
Prints what it did: requests sent and their statuses, /api/state latency p50 / p99 / max,
events received per SSE client (min / max), clients whose stream ended early.
Python standard library only (asyncio), so it runs without a venv.
"""

import argparse
import asyncio
import time


async def sse_client(host, port, stop, counts, i, errors):
    try:
        r, w = await asyncio.open_connection(host, port)
        w.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await w.drain()
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(r.readline(), 5)
            except asyncio.TimeoutError:
                errors.append(f"sse {i}: nothing for 5 s")
                break
            if not line:
                errors.append(f"sse {i}: stream ended")
                break
            if line.startswith(b"data:"):
                counts[i] += 1
        w.close()
    except OSError as e:
        errors.append(f"sse {i}: {e}")


async def one_get(host, port, lat, statuses):
    t0 = time.perf_counter()
    try:
        r, w = await asyncio.open_connection(host, port)
        w.write(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await w.drain()
        data = await r.read()
        w.close()
        status = data.split(b" ", 2)[1].decode() if data else "none"
    except OSError as e:
        status = type(e).__name__
    lat.append(time.perf_counter() - t0)
    statuses[status] = statuses.get(status, 0) + 1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--sse", type=int, default=50)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    host, port = a.addr.rsplit(":", 1)
    port = int(port)
    stop = asyncio.Event()
    counts = [0] * a.sse
    errors, lat, statuses = [], [], {}
    sse = [asyncio.create_task(sse_client(host, port, stop, counts, i, errors))
           for i in range(a.sse)]
    gets = []
    t0 = time.monotonic()
    n = 0
    while True:
        now = time.monotonic() - t0
        if now >= a.seconds:
            break
        # Paced by the clock: request n is due at n / rate.
        due = n / a.rate
        if due > now:
            await asyncio.sleep(due - now)
        gets.append(asyncio.create_task(one_get(host, port, lat, statuses)))
        n += 1
    await asyncio.gather(*gets)
    elapsed = time.monotonic() - t0
    stop.set()
    await asyncio.wait(sse, timeout=5)
    print(f"load: {a.sse} SSE clients, {n} GET /api/state in {elapsed:.1f} s "
          f"({n / elapsed:.0f}/s), statuses {statuses}")
    print(f"/api/state latency: p50 {pct(lat, .5) * 1e3:.1f} ms, p99 {pct(lat, .99) * 1e3:.1f} ms,"
          f" max {max(lat, default=float('nan')) * 1e3:.1f} ms")
    print(f"SSE events per client: min {min(counts)}, max {max(counts)}; "
          f"errors: {len(errors)} {errors[:3]}")


if __name__ == "__main__":
    asyncio.run(main())
