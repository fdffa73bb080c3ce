"""Does a worker stay responsive while its users do slow things? ``/healthz`` latency during sign-ins.

``bargaining serve --workers 1`` on the demo database (SQLite, as ``scripts/run.sh`` sets it up).
A probe requests ``/healthz`` every 10 ms and measures its latency:

1. **baseline**: the worker otherwise idle;
2. **under sign-ins**: while ``--clients`` users sign in through the login form in a closed loop.
   A sign-in verifies an argon2id hash (slow on purpose) and writes the session and the attempt.

``/healthz`` does no work, so its latency is the time a request waits for the worker's event loop.
Before ``@page`` (services/web/page_route.py), sign-in and every form's use case ran on the event
loop and the probe waited for them; now they run in the thread pool.

    .venv/bin/python -m benchmarks.web_responsiveness [--clients 4] [--duration 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from services.demo import DEMO_PASSWORD

from ._support import machine
from ._web_common import cpu_jiffies, load_average, percentile, steal_share
from .http_transitions import free_port

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def serve(db_file: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "BARGAINING_DATABASE_URL": f"sqlite:///{db_file}",
        "BARGAINING_ENV": "development",
        "BARGAINING_SCHEDULER": "0",
        "PYTHONPATH": str(ROOT),
    }
    cli = [sys.executable, "-m", "services.cli"]
    for step in (["init"], ["demo"]):
        subprocess.run(cli + step, env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [
            *cli,
            "serve",
            "--no-scheduler",
            "--workers",
            str(workers),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}"


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


async def probe(base: str, until: float) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while time.monotonic() < until:
            start = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
            await asyncio.sleep(0.01)
    return latencies


async def signer(base: str, until: float, done: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while time.monotonic() < until:
            form = await client.get("/login")
            found = CSRF.search(form.text)
            assert found, "no CSRF token on the login form"
            response = await client.post(
                "/login",
                data={
                    "username": "zhang",
                    "password": DEMO_PASSWORD,
                    "csrf_token": found.group(1),
                    "next": "/",
                },
            )
            assert response.status_code == 303, (response.status_code, response.text[:200])
            done[0] += 1


def line(name: str, latencies: list[float], extra: str = "") -> str:
    q = sorted(latencies)
    return (
        f"  {name:<28} /healthz n={len(q):4d}  p50 {percentile(q, 50):7.1f}  p95 {percentile(q, 95):7.1f}"
        f"  p99 {percentile(q, 99):7.1f}  max {q[-1]:7.1f} ms{extra}"
    )


async def measure(base: str, clients: int, duration: float) -> None:
    await wait_ready(base)
    before = cpu_jiffies()
    idle = await probe(base, time.monotonic() + duration)
    print(line("baseline (idle worker)", idle, stolen(before)), flush=True)
    until = time.monotonic() + duration
    done = [0]
    before = cpu_jiffies()
    probing = asyncio.create_task(probe(base, until))
    await asyncio.gather(*(signer(base, until, done) for _ in range(clients)))
    busy = await probing
    rate = f"; {done[0] / duration:.1f} sign-ins/s"
    print(line(f"{clients} clients signing in", busy, rate + stolen(before)))


def stolen(before: tuple[int, int]) -> str:
    """The hypervisor's share of the phase (a shared VM's slow stretch shows here, not in the code)."""
    share = steal_share(before, cpu_jiffies())
    return "" if share is None else f"; stolen by the host {share:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(f"web responsiveness: serve --workers {args.workers}, demo database on SQLite; {machine()}")
    print(f"load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bargaining-responsive-") as tmp:
        server, base = serve(Path(tmp) / "demo.sqlite3", args.workers)
        try:
            asyncio.run(measure(base, args.clients, args.duration))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"load average after the run {load_average()}")


if __name__ == "__main__":
    main()
