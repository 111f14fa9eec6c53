#!/usr/bin/env python3
"""Instructions per request of ecsim binaries: a figure that does not move with machine load.

    cargo build --release -p ecsim -p ecsim-bench
    bench/icount.py base=/tmp/ecsim.base new=target/release/ecsim
    bench/icount.py base=/tmp/ecsim.base new=target/release/ecsim --write-requests 2000 --only-writes

For each binary: start it under valgrind's callgrind (instrumentation off) on a data dir (a fresh
one for DescribeImages by id; for pages, a copy of one seeded like bench/run.py's: an instance,
an image of it and 999 copies of that image's row), send a tenth of the requests as warm-up,
switch instrumentation on, send --requests with `ecsim-bench load` (V3, --connections, 2 client
threads), dump. Prints the server's instructions per request (user space: what the code does,
not what the scheduler did; this VM exposes no hardware counters to `perf stat`). The dumps stay
in --keep DIR for `callgrind_annotate`. Needs valgrind (`apt-get install valgrind`).
--write-requests adds RunInstances + DeleteInstance(Force) (bench/ab.py's run-delete; a request
is one of the two) on a fresh data dir; its fsyncs are system time, not counted here.
--cycle-requests adds bench/cycle.sh's CreateImage(instance) + DeleteImage (a request is one of
the two, or a DeleteImage retried on ImageIsCreating) on a fresh data dir with one instance of the
system image; it also prints instructions per cycle (per CreateImage handled).
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: fixtures and seeding, shared)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "target/release/ecsim-bench"
DESCRIBE = ["--action", "DescribeImages", "--param", f"RegionId={run.REGION}"]
BY_ID = [*DESCRIBE, "--param", f"ImageId={run.SYSTEM_IMAGE}", "--expect-contains", '"TotalCount":1']
PAGE = [*DESCRIBE, "--param", "ImageOwnerAlias=self", "--param", "PageSize=100", "--expect-contains", '"TotalCount":1000']
# bench/ab.py's run-delete: a request is one RunInstances or one DeleteInstance(Force).
RUN_DELETE = ["--action", "RunInstances", "--param", f"RegionId={run.REGION}",
              "--param", f"ImageId={run.SYSTEM_IMAGE}", "--param", f"InstanceType={run.INSTANCE_TYPE}",
              "--then", "DeleteInstance", "--param", "InstanceId={id}", "--param", "Force=true",
              "--extract", "InstanceIdSet"]


def serve(binary, data, port):
    return subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data), "--creation-time-ms", "0"],
        env=run.ecsim_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_healthy(port):
    for _ in range(400):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server never answered /healthz")


def seeded_dir(binary, work):
    """A data dir with 1000 own images (bench/run.py's fixtures and seeding)."""
    data = work / "seeded"
    port = run.free_port()
    proc = serve(binary, data, port)
    try:
        wait_healthy(port)
        run.ECSIM = Path(binary)
        inst = run.ecsim_call(port, "RunInstances", RegionId=run.REGION, ImageId=run.SYSTEM_IMAGE,
                              InstanceType=run.INSTANCE_TYPE)
        instance_id = inst["InstanceIdSets"]["InstanceIdSet"][0]
        template = run.ecsim_call(port, "CreateImage", RegionId=run.REGION, InstanceId=instance_id,
                                  ImageName="bench-template")["ImageId"]
        run.wait_image_available(port, template)
        run.ecsim_call(port, "RunInstances", RegionId=run.REGION, ImageId=template, InstanceType=run.INSTANCE_TYPE)
    finally:
        proc.terminate()
        proc.wait()
    run.seed_images(data / "ecsim.db", template, 0, 999)
    return data, template


def refused(template):
    """bench/run.py's refused DeleteImage: the seeded template has an instance."""
    return ["--action", "DeleteImage", "--param", f"RegionId={run.REGION}", "--param", f"ImageId={template}",
            "--expect-status", "403", "--expect-code", "ImageUsingByInstance"]


def load(port, args, extra, requests):
    out = subprocess.run(
        [str(BENCH), "load", "--endpoint", f"http://127.0.0.1:{port}", "--scheme", args.scheme,
         "--connections", str(args.connections), "--threads", "2", "--json",
         "--key-id", run.KEY_ID, "--secret", run.SECRET, *extra, "--warmup", "0",
         "--requests", str(requests)],
        env=run.ecsim_env(), capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cycle(port, binary):
    """bench/cycle.sh's load: CreateImage from an instance made first, then DeleteImage of it."""
    run.ECSIM = Path(binary)
    inst = run.ecsim_call(port, "RunInstances", RegionId=run.REGION, ImageId=run.SYSTEM_IMAGE,
                          InstanceType=run.INSTANCE_TYPE)
    instance_id = inst["InstanceIdSets"]["InstanceIdSet"][0]
    return ["--action", "CreateImage", "--param", f"RegionId={run.REGION}", "--param", f"InstanceId={instance_id}",
            "--then", "DeleteImage", "--param", f"RegionId={run.REGION}", "--param", "ImageId={id}",
            "--extract", "ImageId", "--retry-code", "ImageIsCreating", "--retry-wait-ms", "10"]


def one(label, binary, args, data_template, extra, requests, kind=None):
    with tempfile.TemporaryDirectory(prefix="ecsim-icount-") as tmp:
        data = Path(tmp) / "data"
        if data_template:
            shutil.copytree(data_template, data)
        port = run.free_port()
        kind = kind or ("page" if data_template else "id")
        out_file = Path(args.keep) / f"callgrind.{label}.{kind}"
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_file}",
             binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data), "--creation-time-ms", "0"],
            env=run.ecsim_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(port)
            if callable(extra):
                extra = extra(port, binary)
            # Warm-up: a tenth of the requests; a quarter for the cycle, whose reader pool grows
            # for longer (a reader opened while measuring costs ~1.7M instructions).
            load(port, args, extra, args.warmup_requests or max(requests // (4 if kind == "cycle" else 10), 20))
            subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True, capture_output=True)
            r = load(port, args, extra, requests)
            subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True)
            subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True, capture_output=True)
        finally:
            server.terminate()
            server.wait()
    dumps = sorted(Path(args.keep).glob(out_file.name + ".*"), key=lambda p: p.stat().st_mtime)
    total, served, soft_sha, created = dump_figures(dumps[-1])
    if not served:
        raise RuntimeError(f"{dumps[-1]}: no authenticated request was instrumented")
    per_cycle = ""
    if kind == "cycle" and created:
        per_cycle = (f"; {total / created / 1e3:.1f} k/cycle, {(total - soft_sha) / created / 1e3:.1f} k without "
                     f"software SHA ({created} CreateImage)")
    print(f"{label:10} {total / served / 1e3:8.1f} k instructions/req, {(total - soft_sha) / served / 1e3:6.1f} k "
          f"without software SHA{per_cycle} ({served} of {requests} requests instrumented; dump {dumps[-1]}, "
          f"errors {r['errors']})", flush=True)


# What valgrind runs in software but the server runs on the CPU's SHA extensions (SHA-NI):
# SHA-256 (V3 signatures, payload hashes) and SHA-1 (V1 signatures).
SOFT_SHA = ("sha2::sha256::soft::compress", "sha1::compress::soft::compress")


def dump_figures(dump):
    """Total instructions, requests served, instructions in software SHA and CreateImage calls of a dump.

    Requests are counted as calls of `auth::authenticate` (one per request), not taken from the
    load generator: callgrind switches instrumentation on some time after `callgrind_control -i
    on` returns, so the first requests of a load may not be in the dump. SHA-256 and SHA-1 are
    reported apart because valgrind hides the CPU's SHA extensions: `sha2` and `sha1` fall back
    to their software rounds under callgrind, several times the cost of the SHA-NI path the server runs natively.
    """
    total = served = soft_sha = created = 0
    ids = {}
    current_fn = None
    called = None
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1])
        elif line.startswith("fn=") or line.startswith("cfn="):
            key, _, rest = line.partition("=")
            ident, _, name = rest.partition(" ")
            if name:
                ids[ident] = name
            name = ids.get(ident, "")
            if key == "fn":
                current_fn, called = name, None
            else:
                called = name
        elif line.startswith("calls="):
            if called == "ecsim_server::auth::authenticate":
                served += int(line[len("calls="):].split()[0])
            elif called == "ecsim_server::handlers::images::create_image":
                created += int(line[len("calls="):].split()[0])
        elif line[:1].isdigit() or line[:1] in "+-*":
            # A cost line: self cost unless it directly follows a `calls=` line (called == set).
            if called is not None:
                called = None
            elif current_fn in SOFT_SHA and len(line.split()) == 2:
                soft_sha += int(line.split()[1])
    return total, served, soft_sha, created


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binaries", nargs="+", help="label=path of an ecsim binary")
    ap.add_argument("--requests", type=int, default=2000, help="requests by id per measurement")
    ap.add_argument("--page-requests", type=int, default=100, help="page-of-100 requests (0: skip pages)")
    ap.add_argument("--write-requests", type=int, default=0,
                    help="RunInstances + DeleteInstance(Force) requests (each fsynced; 0: skip)")
    ap.add_argument("--cycle-requests", type=int, default=0,
                    help="CreateImage(instance) + DeleteImage requests, bench/cycle.sh's load (0: skip)")
    ap.add_argument("--only-writes", action="store_true", help="measure the write scenarios alone")
    ap.add_argument("--refused-requests", type=int, default=0,
                    help="DeleteImage refused with ImageUsingByInstance on the seeded dir (0: skip)")
    ap.add_argument("--warmup-requests", type=int, default=0,
                    help="requests before measuring (0: a tenth of them; a quarter for the cycle)")
    ap.add_argument("--keep", default="/tmp/ecsim-icount", help="where the callgrind dumps go")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--scheme", choices=["v3", "v1", "sm3"], default="v3",
                    help="how the load generator signs (V1: HMAC-SHA1 over the re-encoded query)")
    args = ap.parse_args()
    pairs = [b.split("=", 1) for b in args.binaries]
    scheme = args.scheme.upper()
    Path(args.keep).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ecsim-icount-seed-") as work:
        wants_seed = (args.page_requests or args.refused_requests) and not args.only_writes
        seeded, template = seeded_dir(pairs[0][1], Path(work)) if wants_seed else (None, None)
        for _ in range(args.rounds):
            if args.write_requests:
                print(f"RunInstances + DeleteInstance(Force), {scheme}:")
                for label, binary in pairs:
                    one(label, binary, args, None, RUN_DELETE, args.write_requests, kind="write")
            if args.cycle_requests:
                print(f"CreateImage(instance) + DeleteImage, {scheme}:")
                for label, binary in pairs:
                    one(label, binary, args, None, cycle, args.cycle_requests, kind="cycle")
            if args.only_writes:
                continue
            print(f"DescribeImages by id, {scheme}:")
            for label, binary in pairs:
                one(label, binary, args, None, BY_ID, args.requests)
            if seeded and args.page_requests:
                print(f"DescribeImages PageSize=100 of 1000 own images, {scheme}:")
                for label, binary in pairs:
                    one(label, binary, args, seeded, PAGE, args.page_requests)
            if seeded and args.refused_requests:
                print(f"DeleteImage refused (ImageUsingByInstance), {scheme}:")
                for label, binary in pairs:
                    one(label, binary, args, seeded, refused(template), args.refused_requests, kind="refused")


if __name__ == "__main__":
    main()
