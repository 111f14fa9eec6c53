#!/usr/bin/env python3
"""A/B of one scenario (default DescribeImages by id; V3, 32 connections) between ecsim binaries, alternating them.

    cargo build --release -p ecsim -p ecsim-bench
    cp target/release/ecsim /tmp/ecsim.old      # before the change; rebuild after it
    bench/ab.py old=/tmp/ecsim.old new=target/release/ecsim --rounds 3

Each round starts every binary in turn on a fresh data dir (the same `serve` flags and
credentials as bench/run.py), loads it with `ecsim-bench load` (1 s warm-up, then --duration
seconds) and prints req/s, latency and the server's CPU per request (user+system of the server
process over warm-up and measurement, divided by rps × (duration + 1)): the figure that does
not depend on what else the 2 cores are doing. The 1-minute load average is printed beside it,
and the server's resident set after the run (and its peak).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: credentials, fixtures and helpers, shared)
from run import BENCH, INSTANCE_TYPE, KEY_ID, REGION, SECRET, SYSTEM_IMAGE, free_port  # noqa: E402

BY_ID = ["--action", "DescribeImages", "--param", f"RegionId={REGION}",
         "--param", f"ImageId={SYSTEM_IMAGE}", "--expect-contains", '"TotalCount":1']
RUN_DELETE = ["--action", "RunInstances", "--param", f"RegionId={REGION}",
              "--param", f"ImageId={SYSTEM_IMAGE}", "--param", f"InstanceType={INSTANCE_TYPE}",
              "--then", "DeleteInstance", "--param", "InstanceId={id}", "--param", "Force=true",
              "--extract", "InstanceIdSet"]
# A DeleteImage refused by the same check as ImageUsingByInstance, with no set-up: a system
# image is not the caller's to delete.
REFUSED_DELETE = ["--action", "DeleteImage", "--param", f"RegionId={REGION}",
                  "--param", f"ImageId={SYSTEM_IMAGE}",
                  "--expect-status", "404", "--expect-code", "InvalidImageId.NotFound"]
SCENARIOS = {"by-id": BY_ID, "run-delete": RUN_DELETE, "refused-delete": REFUSED_DELETE}


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / run.CLK_TCK


def rss_mib(pid):
    """The server's resident set now and at its peak (VmRSS, VmHWM), MiB."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return tuple(int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))


def one(label, binary, args):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(ECSIM_ROOT_ACCESS_KEY_ID=KEY_ID, ECSIM_ROOT_ACCESS_KEY_SECRET=SECRET, ECSIM_LOG="warn")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ecsim-ab-") as data:
        server = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--creation-time-ms", "0"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            load = open("/proc/loadavg").read().split()[0]
            before = cpu_s(server.pid)
            out = subprocess.run(
                [str(BENCH), "load", "--endpoint", f"http://127.0.0.1:{port}", "--scheme", "v3",
                 "--connections", str(args.connections), "--threads", "2", "--json",
                 "--key-id", KEY_ID, "--secret", SECRET, *SCENARIOS[args.scenario],
                 "--duration", str(args.duration), "--warmup", "1"],
                env=env, capture_output=True, text=True, check=True,
            )
            cpu = cpu_s(server.pid) - before
            rss, peak = rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait()
    r = json.loads(out.stdout.strip().splitlines()[-1])
    us = cpu / (r["rps"] * (args.duration + 1)) * 1e6
    print(f"{label:10} load {load:>5}  {r['rps']:8.0f} req/s  p50 {r['p50_ms']:5.2f}  p99 {r['p99_ms']:6.2f}"
          f"  p99.9 {r['p999_ms']:6.2f} ms  errors {r['errors']}  server CPU {us:4.0f} µs/req"
          f"  RSS {rss:5.1f} MiB (peak {peak:5.1f})", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binaries", nargs="+", help="label=path of an ecsim binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="by-id",
                    help="by-id: DescribeImages by id; run-delete: RunInstances + DeleteInstance(Force), "
                         "each acknowledged after its fsync; refused-delete: DeleteImage refused (404)")
    args = ap.parse_args()
    pairs = [b.split("=", 1) for b in args.binaries]
    for _ in range(args.rounds):
        for label, binary in pairs:
            one(label, binary, args)


if __name__ == "__main__":
    main()
