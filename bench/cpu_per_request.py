"""CPU per request of ours and PostGraphile, one worker each, for shapes with fixed and varied variables.

    python bench/cpu_per_request.py postgresql://postgres@127.0.0.1:5432/vk_bench [--shapes search,search-words,node,node-ids]
        [--duration 8] [--py-spy DIR]

The database must hold a grown dataset (bench/datasets.py, and bench/run.py's postgraphile_extras for the
predecessors shape). Each server runs with ONE worker process; wrk loads it with 10 connections, and the
worker's CPU time (utime + stime from /proc) over the run is divided by the requests answered. Unlike
req/s, CPU time per request is hardly disturbed by other work on the machine (it measures what the
process did, not how long it waited for a core), so this can be measured on a busy machine. With
--py-spy DIR, ours' worker is also sampled with py-spy (raw, collapsed stacks) during each run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run  # bench/run.py (this directory is on sys.path when run as a script)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dsn")
    parser.add_argument("--shapes", default="search,search-words,node,node-ids")
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--py-spy", type=Path, default=None, help="write py-spy profiles of ours here")
    args = parser.parse_args()
    args.workers, args.threads = 1, 2
    shapes = [shape for shape in args.shapes.split(",") if shape]
    wrk_binary = run.ensure_wrk()
    postgraphile = run.ensure_postgraphile()
    keys = asyncio.run(run._dataset_keys(args.dsn))
    ticks = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="veerkracht-cpu-") as directory:
        work = Path(directory)
        ports = {name: run.free_port() for name in run.SERVERS}
        commands = run.server_commands(args, args.dsn, postgraphile, ports)
        print(
            f"{'shape':<13} {'server':<13} {'requests':>9} {'req/s':>8} {'CPU ms/request':>15} {'bytes/answer':>13}"
        )
        for name in ("ours", "postgraphile"):
            if name not in commands:
                continue
            command, env, cwd = commands[name]
            server = run.start(name, command, env, cwd, work, ports[name])
            try:
                run.wait_ready(server, run.request_body("list", name, {}))
                lists = run.variable_lists(keys, {name: server.url})
                for shape in shapes:
                    payloads = [run.request_body(shape, name, variables) for variables in lists[shape][name]]
                    # A shape may be named twice (to see the spread, or a warm-up effect): same file.
                    path = work / f"{shape}-{name}.{'jsonl' if shape in run.VARIED else 'json'}"
                    path.write_bytes(b"\n".join(payloads) + (b"\n" if shape in run.VARIED else b""))
                    for payload in payloads[:1]:
                        run.check_answer(name, shape, *run.post(server.url, payload))
                    run.wrk_result(run.wrk_start(wrk_binary, server.url, path, 2, 2, args.connections))
                    run.settle(server)
                    workers = server.workers()
                    before = run._ticks_by_pid(workers)
                    spy = None
                    if args.py_spy is not None and name == "ours" and shutil.which("py-spy"):
                        args.py_spy.mkdir(parents=True, exist_ok=True)
                        spy = subprocess.Popen(
                            ["py-spy", "record", "-p", str(workers[0]), "-d", str(max(1, round(args.duration) - 1)),
                             "-r", "250", "--format", "raw", "--nonblocking", "-o", str(args.py_spy / f"{shape}.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        )  # fmt: skip
                    started = time.monotonic()
                    result = run.wrk_result(
                        run.wrk_start(wrk_binary, server.url, path, args.duration, 2, args.connections)
                    )
                    if spy is not None:
                        spy.wait()
                    if args.py_spy is not None and name == "ours":
                        print(f"   py-spy: {args.py_spy / f'{shape}.txt'}")
                    spent = run._ticks_spent(before, workers) / ticks
                    requests = max(1, int(result["requests"]))
                    print(
                        f"{shape:<13} {name:<13} {requests:>9} {result['rps']:>8.0f} {spent / requests * 1000:>15.3f}"
                        f" {result['bytes'] / requests:>13.0f}"
                        f"   ({time.monotonic() - started:.0f} s, {len(payloads)} different requests)",
                        flush=True,
                    )
                    run.settle(server)
            finally:
                server.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
