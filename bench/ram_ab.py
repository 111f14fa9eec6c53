#!/usr/bin/env python3
"""DescribeImages by id (V3, 32 connections): a RAM user with 10 attached custom policies against
the root key, on one server, alternating the two keys round by round so both see the same load.

    cargo build --release -p ecsim -p ecsim-bench
    bench/ram_ab.py [--rounds 4] [--duration 4]

The user and its policies are made by `bench/run.py`'s `ram_user_with_policies` (the same
scenario `bench/run` measures); the root key is cached after its first lookup, a RAM
user's key is read on every request (so a disabled key is refused at once) and its policies are
evaluated on every call.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import run as B  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=int, default=4)
    args = ap.parse_args()

    class LoadArgs:
        client_threads = 2

    B.ARGS = LoadArgs
    work = pathlib.Path(tempfile.mkdtemp(prefix="ecsim-ram-ab-"))
    port = B.free_port()
    proc, _ = B.start_ecsim(work, work / "data", port)
    try:
        keys = {"root": (B.KEY_ID, B.SECRET), "ram user, 10 policies": B.ram_user_with_policies(port)}
        endpoint = f"http://127.0.0.1:{port}"
        by_id = ["--action", "DescribeImages", "--param", f"RegionId={B.REGION}",
                 "--param", f"ImageId={B.SYSTEM_IMAGE}", "--expect-contains", '"TotalCount":1']
        results = {name: [] for name in keys}
        for _ in range(args.rounds):
            for name, key in keys.items():
                argv = B.load_args(endpoint, "v3", 32, by_id, key=key)
                argv += ["--duration", str(args.duration), "--warmup", "1"]
                out = subprocess.run(argv, capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if r["errors"]:
                    raise SystemExit(f"{name}: {r['errors']} errors {r['error_kinds']}")
                results[name].append(r)
                print(f"{name}: {r['rps']:,.0f} req/s, p99 {r['p99_ms']:.2f} ms, load {B.loadavg()[0]:.1f}", flush=True)
        medians = {name: statistics.median(r["rps"] for r in rs) for name, rs in results.items()}
        for name, m in medians.items():
            print(f"{name}: median {m:,.0f} req/s")
        ram, root = medians["ram user, 10 policies"], medians["root"]
        print(f"RAM user / root: {ram / root:.0%}")
    finally:
        proc.stop()


if __name__ == "__main__":
    main()
