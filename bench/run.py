#!/usr/bin/env python3
"""The ecsim benchmark (issue 7): ecsim beside the bare-HTTP ceiling and moto, in one run.

Run through `bench/run`, which builds the binaries and the moto venv first. Every server starts
on a free port with a fresh data directory under a temporary work directory; every scenario is
run --runs times and reported as the median (min-max). Results go to stdout and bench/out/.
Standard library only (moto lives in bench/.venv and is started as a separate process).
"""

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ECSIM = ROOT / "target/release/ecsim"
BENCH = ROOT / "target/release/ecsim-bench"
MOTO = ROOT / "bench/.venv/bin/moto_server"
KEY_ID = "LTAIbenchmark00000001"
SECRET = "benchmarksecret0000000000000000"
REGION = "cn-hangzhou"
SYSTEM_IMAGE = "aliyun_3_x64_20G_alibase_20240819.vhd"
INSTANCE_TYPE = "ecs.g7.large"
MOTO_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20240101/us-east-1/ec2/aws4_request, "
    "SignedHeaders=host, Signature=" + "0" * 64
)
CLK_TCK = os.sysconf("SC_CLK_TCK")

ARGS = None
PROCS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def cpu_busy_ticks():
    """All CPUs' busy time (user+nice+system+irq+softirq+steal), in clock ticks."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal


class Proc:
    def __init__(self, argv, log_path, env=None):
        self.log_path = log_path
        self.logf = open(log_path, "ab")
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        self.pid = self.p.pid
        PROCS.append(self)

    def status(self, field):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return float("nan")

    def rss(self):
        return self.status("VmRSS") / 1024.0  # MiB

    def hwm(self):
        return self.status("VmHWM") / 1024.0

    def threads(self):
        return self.status("Threads")

    def cpu_s(self):
        """User+system CPU seconds of the process and its threads."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            return (int(rest[11]) + int(rest[12])) / CLK_TCK
        except OSError:
            return float("nan")

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()
        if self in PROCS:
            PROCS.remove(self)


def cleanup():
    for p in list(PROCS):
        try:
            p.stop(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def wait_http(port, path, t0, proc, ok=lambda status: status == 200, timeout=120, method="GET", headers=None):
    """Polls until an answer satisfies `ok`; returns milliseconds since `t0`."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not proc.alive():
            raise RuntimeError(f"server exited; see {proc.log_path}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            r.read()
            c.close()
            if ok(r.status):
                return (time.perf_counter() - t0) * 1000.0
        except (ConnectionError, OSError, http.client.HTTPException):
            pass
        time.sleep(0.001)
    raise RuntimeError(f"no answer on port {port}{path} within {timeout}s")


# ---------------------------------------------------------------------------------------------
# Servers


def ecsim_env():
    env = dict(os.environ)
    env.update(
        ECSIM_ROOT_ACCESS_KEY_ID=KEY_ID,
        ECSIM_ROOT_ACCESS_KEY_SECRET=SECRET,
        ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET,
        ECSIM_LOG="warn",
    )
    return env


def start_ecsim(work, data_dir, port):
    argv = [
        str(ECSIM), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
        # CreateImage/CreateSnapshot become Available as soon as the completion worker runs.
        "--creation-time-ms", "0",
    ]
    proc = Proc(argv, work / "ecsim.log", env=ecsim_env())
    ms = wait_http(port, "/healthz", proc.t0, proc)
    return proc, ms


def ecsim_call(port, action, api_version=None, **params):
    argv = [str(ECSIM), "call", action, "--endpoint", f"http://127.0.0.1:{port}"]
    if api_version:
        argv += ["--api-version", api_version]
    for k, v in params.items():
        argv += [f"--{k}", str(v)]
    out = subprocess.run(argv, env=ecsim_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"ecsim call {action}: {out.stdout} {out.stderr}")
    return json.loads(out.stdout)


def wait_image_available(port, image_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        imgs = ecsim_call(port, "DescribeImages", RegionId=REGION, ImageId=image_id)["Images"]["Image"]
        if imgs and imgs[0]["Status"] == "Available":
            return
        time.sleep(0.05)
    raise RuntimeError(f"image {image_id} never became Available")


RAM_VERSION = "2015-05-01"


def ram_user_with_policies(port, count=10):
    """A RAM user with `count` custom policies attached, and its AccessKey. Only the last policy
    allows DescribeImages; every policy is evaluated on each call (a Deny in any would win), and
    the others carry several statements, wildcards and a Deny, as real accounts' policies do."""
    ecsim_call(port, "CreateUser", api_version=RAM_VERSION, UserName="bench-user")
    for i in range(count):
        statements = [
            {"Effect": "Allow", "Action": ["ecs:CreateImage", "ecs:CopyImage", "ecs:Describe*Snapshot*"],
             "Resource": [f"acs:ecs:*:*:image/m-team{i}*", f"acs:ecs:*:*:snapshot/s-team{i}*"]},
            {"Effect": "Deny", "Action": "ecs:DeleteImage", "Resource": f"acs:ecs:*:*:image/m-protected{i}*"},
            {"Effect": "Allow", "Action": ["ecs:RunInstances", "ecs:Start*", "ecs:Stop*"],
             "Resource": "*", "Condition": {"StringEquals": {"ecs:tag/team": f"team{i}"}}},
        ]
        if i == count - 1:
            statements.append({"Effect": "Allow", "Action": "ecs:DescribeImages", "Resource": "*"})
        doc = json.dumps({"Version": "1", "Statement": statements})
        ecsim_call(port, "CreatePolicy", api_version=RAM_VERSION, PolicyName=f"bench-policy-{i}", PolicyDocument=doc)
        ecsim_call(port, "AttachPolicyToUser", api_version=RAM_VERSION, PolicyType="Custom",
                   PolicyName=f"bench-policy-{i}", UserName="bench-user")
    key = ecsim_call(port, "CreateAccessKey", api_version=RAM_VERSION, UserName="bench-user")["AccessKey"]
    return key["AccessKeyId"], key["AccessKeySecret"]


def seed_images(db_path, template_id, first, count):
    """Copies the template image row `count` times (ids first+1 … first+count), straight into
    the SQLite file while the server is stopped: one INSERT … SELECT, indexes maintained."""
    t0 = time.perf_counter()
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        """
        WITH RECURSIVE seq(n) AS (SELECT ?1 + 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1 + ?2)
        INSERT INTO images(id, region_id, owner, name, family, status, os_type, arch, is_public,
                           created_at, ready_at, deleted_at, doc)
        SELECT printf('m-bp1seed%013d', n), t.region_id, t.owner, printf('seed-%d', n), t.family,
               t.status, t.os_type, t.arch, t.is_public, t.created_at - n, t.ready_at, t.deleted_at,
               json_set(t.doc, '$.id', printf('m-bp1seed%013d', n), '$.name', printf('seed-%d', n),
                        '$.created_at', t.created_at - n)
        FROM images t, seq WHERE t.region_id = ?3 AND t.id = ?4
        """,
        (first, count, REGION, template_id),
    )
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t0


def start_ceiling(work, port):
    proc = Proc([str(BENCH), "ceiling", "--listen", f"127.0.0.1:{port}"], work / "ceiling.log")
    ms = wait_http(port, "/healthz", proc.t0, proc)
    return proc, ms


def start_moto(work, port):
    proc = Proc([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], work / "moto.log")
    http_ms = wait_http(port, "/", proc.t0, proc, ok=lambda s: s < 500)
    # The EC2 backend initialises on its first call.
    ec2_ms = wait_http(
        port, "/?Action=DescribeRegions&Version=2016-11-15", proc.t0, proc,
        method="POST", headers={"Authorization": MOTO_AUTH, "Content-Length": "0"},
    )
    return proc, http_ms, ec2_ms


def moto_call(port, action, **params):
    q = "&".join([f"Action={action}", "Version=2016-11-15"] + [
        f"{k}={urllib.request.quote(str(v), safe='')}" for k, v in params.items()
    ])
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/?{q}", data=b"", method="POST",
        headers={"Authorization": MOTO_AUTH},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode()


# ---------------------------------------------------------------------------------------------
# Load


RESULTS = {}  # key -> {"label","target","runs":[...], extra}


def load_args(endpoint, scheme, connections, extra, key=(KEY_ID, SECRET)):
    base = [
        str(BENCH), "load", "--endpoint", endpoint, "--scheme", scheme,
        "--connections", str(connections), "--threads", str(ARGS.client_threads), "--json",
    ]
    if scheme in ("v3", "v1", "sm3"):
        base += ["--key-id", key[0], "--secret", key[1]]
    return base + extra


def run_load(key, label, target, server, argv, runs=None, duration=None, warmup=None, note=""):
    runs = runs or ARGS.runs
    duration = duration if duration is not None else ARGS.duration
    warmup = warmup if warmup is not None else ARGS.warmup
    entry = RESULTS.setdefault(key, {"label": label, "target": target, "note": note, "runs": []})
    for i in range(runs):
        cpu0 = server.cpu_s()
        busy0 = cpu_busy_ticks()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        la = loadavg()[0]
        t0 = time.perf_counter()
        out = subprocess.run(
            argv + ["--duration", str(duration), "--warmup", str(warmup)],
            capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1 = cpu_busy_ticks()
        cpu1 = server.cpu_s()
        if out.returncode != 0:
            raise RuntimeError(f"{label}: {out.stderr}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        wall = elapsed
        client_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        server_cpu = cpu1 - cpu0
        total_cpu = (busy1 - busy0) / CLK_TCK
        # Only the measured window's requests are counted; spread CPU over all sent (warm-up too).
        sent = max(r["rps"] * (duration + warmup), 1.0)
        r["server_cpu_us"] = server_cpu / sent * 1e6
        r["client_cpu_us"] = client_cpu / sent * 1e6
        # CPU used meanwhile by everything else on the machine (other builds), in cores.
        r["other_cores"] = max(total_cpu - server_cpu - client_cpu, 0.0) / max(wall, 1e-9)
        r["load1"] = la
        r["server_rss_mib"] = server.rss()
        r["server_threads"] = server.threads()
        entry["runs"].append(r)
        errs = f", errors {r['errors']} {r['error_kinds']}" if r["errors"] else ""
        log(
            f"  {label} run {i + 1}/{runs}: {num(r['rps'])} req/s, p50 {r['p50_ms']:.2f} "
            f"p99 {r['p99_ms']:.2f} p99.9 {r['p999_ms']:.2f} ms{errs}; "
            f"server {r['server_cpu_us']:.0f} µs/req, others {r['other_cores']:.2f} cores"
        )
    return entry


def record_value(key, label, target, values, unit, pair=False):
    """Samples of one measurement (median, min–max), or with `pair` two different figures."""
    RESULTS[key] = {"label": label, "target": target, "unit": unit, "values": values, "pair": pair}
    log(f"  {label}: {fmt_value(RESULTS[key])}")


# ---------------------------------------------------------------------------------------------
# Scenarios


def bench_ceiling(work):
    log("== ceiling: fixed 100-byte JSON on the same axum/hyper stack")
    port = free_port()
    proc, _ = start_ceiling(work, port)
    ep = f"http://127.0.0.1:{port}"
    c = ARGS.connections
    params = ["--action", "DescribeImages", "--param", f"RegionId={REGION}", "--param", f"ImageId={SYSTEM_IMAGE}"]
    try:
        run_load("ceiling_v3", "ceiling, V3-signed requests", "ceiling", proc, load_args(ep, "v3", c, params))
        run_load("ceiling_v1", "ceiling, V1-signed requests", "ceiling", proc, load_args(ep, "v1", c, params))
        run_load("ceiling_none", "ceiling, unsigned requests", "ceiling", proc, load_args(ep, "none", c, params))
    finally:
        proc.stop()


def bench_ecsim(work):
    log("== ecsim")
    data = work / "ecsim-data"
    port = free_port()
    ep = f"http://127.0.0.1:{port}"
    c = ARGS.connections
    proc, first_ms = start_ecsim(work, data, port)
    record_value("ecsim_first_start", "ecsim first start (fresh dir: schema, catalog, account)", "ecsim", [first_ms], "ms")
    # Fixtures: an instance to image, an image of it in use by a second instance.
    inst = ecsim_call(port, "RunInstances", RegionId=REGION, ImageId=SYSTEM_IMAGE, InstanceType=INSTANCE_TYPE)
    instance_id = inst["InstanceIdSets"]["InstanceIdSet"][0]
    template = ecsim_call(port, "CreateImage", RegionId=REGION, InstanceId=instance_id, ImageName="bench-template")["ImageId"]
    wait_image_available(port, template)
    ecsim_call(port, "RunInstances", RegionId=REGION, ImageId=template, InstanceType=INSTANCE_TYPE)
    proc.stop()

    images = sorted(ARGS.images)
    seeded = 0
    n = images[0]
    secs = seed_images(data / "ecsim.db", template, seeded, n - 1)
    seeded = n - 1
    log(f"  seeded {n - 1} image rows in {secs:.2f} s")

    # Start-up on an existing data dir (1k images), several times; then idle RSS.
    starts = []
    for _ in range(ARGS.start_runs):
        proc, ms = start_ecsim(work, data, port)
        starts.append(ms)
        proc.stop()
    record_value("ecsim_start", f"ecsim start-up to /healthz, existing dir ({n} own images)", "ecsim", starts, "ms")
    proc, _ = start_ecsim(work, data, port)
    time.sleep(1.0)
    record_value("ecsim_idle_rss", f"ecsim idle RSS ({n} own images)", "ecsim", [proc.rss()], "MiB")

    by_id = ["--action", "DescribeImages", "--param", f"RegionId={REGION}", "--param", f"ImageId={SYSTEM_IMAGE}",
             "--expect-contains", '"TotalCount":1']
    page = ["--action", "DescribeImages", "--param", f"RegionId={REGION}", "--param", "ImageOwnerAlias=self",
            "--param", "PageSize=100", "--expect-contains", f'"TotalCount":{n}']
    try:
        run_load("ecsim_id_v3", "DescribeImages by id, V3", "ecsim", proc, load_args(ep, "v3", c, by_id))
        run_load("ecsim_id_v1", "DescribeImages by id, V1", "ecsim", proc, load_args(ep, "v1", c, by_id))
        ram_key = ram_user_with_policies(port)
        run_load("ecsim_id_ram", "DescribeImages by id, V3, RAM user with 10 attached policies", "ecsim", proc,
                 load_args(ep, "v3", c, by_id, key=ram_key))
        run_load(f"ecsim_page_{n}", f"DescribeImages PageSize=100 of {n}, V3", "ecsim", proc, load_args(ep, "v3", c, page))
        run_load(f"ecsim_page1_{n}", f"DescribeImages PageSize=100 of {n}, V3, 1 connection", "ecsim", proc,
                 load_args(ep, "v3", 1, page), duration=min(ARGS.duration, 3))
        run_load("ecsim_refused", "DeleteImage refused (ImageUsingByInstance)", "ecsim", proc,
                 load_args(ep, "v3", c, ["--action", "DeleteImage", "--param", f"RegionId={REGION}",
                                         "--param", f"ImageId={template}", "--expect-status", "403",
                                         "--expect-code", "ImageUsingByInstance"]))
        run_load("ecsim_run_delete", "RunInstances + DeleteInstance(Force)", "ecsim", proc,
                 load_args(ep, "v3", c, ["--action", "RunInstances", "--param", f"RegionId={REGION}",
                                         "--param", f"ImageId={SYSTEM_IMAGE}", "--param", f"InstanceType={INSTANCE_TYPE}",
                                         "--then", "DeleteInstance", "--param", "InstanceId={id}",
                                         "--param", "Force=true", "--extract", "InstanceIdSet"]))
        run_load("ecsim_create_delete", "CreateImage(instance) + DeleteImage once Available", "ecsim", proc,
                 load_args(ep, "v3", c, ["--action", "CreateImage", "--param", f"RegionId={REGION}",
                                         "--param", f"InstanceId={instance_id}",
                                         "--then", "DeleteImage", "--param", f"RegionId={REGION}",
                                         "--param", "ImageId={id}", "--extract", "ImageId",
                                         "--retry-code", "ImageIsCreating", "--retry-wait-ms", "10"]),
                 note="DeleteImage is resent every 10 ms while it answers ImageIsCreating; "
                      "cycles/s counts completed create+delete pairs")
        record_value("ecsim_rss_after", "ecsim RSS after the load (VmRSS / VmHWM)", "ecsim", [proc.rss(), proc.hwm()], "MiB", pair=True)
    finally:
        proc.stop()
    # Start-up again, now with every nonce of the runs in the table (preloaded at start).
    starts = []
    for _ in range(max(ARGS.start_runs // 2, 1)):
        proc, ms = start_ecsim(work, data, port)
        starts.append(ms)
        proc.stop()
    record_value("ecsim_start_after", "ecsim start-up to /healthz after the load (nonces preloaded)", "ecsim", starts, "ms")

    for n in images[1:]:
        secs = seed_images(data / "ecsim.db", template, seeded, n - 1 - seeded)
        seeded = n - 1
        log(f"  seeded up to {n - 1} image rows in {secs:.1f} s")
        proc, ms = start_ecsim(work, data, port)
        record_value(f"ecsim_start_{n}", f"ecsim start-up to /healthz with {n} images", "ecsim", [ms], "ms")
        time.sleep(1.0)
        idle = proc.rss()
        # Deleted cycle images do not count, but a cycle interrupted mid-way may leave one.
        page = ["--action", "DescribeImages", "--param", f"RegionId={REGION}", "--param", "ImageOwnerAlias=self",
                "--param", "PageSize=100", "--expect-contains", f'"TotalCount":{str(n)[:3]}']
        try:
            # One connection only: a page here takes long enough that 32 connections would
            # queue for tens of seconds.
            run_load(f"ecsim_page1_{n}", f"DescribeImages PageSize=100 of {n}, V3, 1 connection", "ecsim", proc,
                     load_args(ep, "v3", 1, page), warmup=0)
            record_value(f"ecsim_rss_{n}", f"ecsim RSS with {n} images (idle / after pages)", "ecsim", [idle, proc.rss()], "MiB", pair=True)
        finally:
            proc.stop()


def bench_moto(work):
    log("== moto")
    port = free_port()
    ep = f"http://127.0.0.1:{port}"
    c = ARGS.connections
    proc, http_ms, ec2_ms = start_moto(work, port)
    try:
        record_value("moto_start", "moto start-up (first HTTP answer / first EC2 answer)", "moto", [http_ms, ec2_ms], "ms", pair=True)
        time.sleep(1.0)
        record_value("moto_idle_rss", "moto idle RSS (after its EC2 backend loaded)", "moto", [proc.rss()], "MiB")
        ami = re.search(r"<imageId>(ami-[0-9a-f]+)</imageId>", moto_call(port, "DescribeImages", **{"Owner.1": "amazon"})).group(1)
        run = moto_call(port, "RunInstances", ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro")
        instance_id = re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", run).group(1)
        run_load("moto_id", "moto DescribeImages by id", "moto", proc,
                 load_args(ep, "aws", c, ["--version", "2016-11-15", "--action", "DescribeImages",
                                          "--param", f"ImageId.1={ami}", "--expect-contains", f"<imageId>{ami}</imageId>"]))
        n = sorted(ARGS.images)[0]
        t0 = time.perf_counter()
        out = subprocess.run(
            load_args(ep, "aws", 8, ["--version", "2016-11-15", "--action", "CreateImage",
                                     "--param", f"InstanceId={instance_id}", "--param", "Name=seed{seq}",
                                     "--requests", str(n), "--duration", "0"]),
            capture_output=True, text=True, check=True,
        )
        log(f"  moto: {n} images created through the API in {time.perf_counter() - t0:.1f} s "
            f"({json.loads(out.stdout)['errors']} errors)")
        run_load(f"moto_list_{n}", f"moto DescribeImages Owner=self, all {n} (no paging), 1 connection", "moto", proc,
                 load_args(ep, "aws", 1, ["--version", "2016-11-15", "--action", "DescribeImages", "--param", "Owner.1=self"]),
                 duration=max(ARGS.duration, 5), warmup=0)
        run_load("moto_create_dereg", "moto CreateImage(instance) + DeregisterImage", "moto", proc,
                 load_args(ep, "aws", c, ["--version", "2016-11-15", "--action", "CreateImage",
                                          "--param", f"InstanceId={instance_id}", "--param", "Name=b{seq}",
                                          "--then", "DeregisterImage", "--param", "ImageId={id}", "--extract", "imageId"]))
        run_load("moto_run_term", "moto RunInstances + TerminateInstances", "moto", proc,
                 load_args(ep, "aws", c, ["--version", "2016-11-15", "--action", "RunInstances",
                                          "--param", f"ImageId={ami}", "--param", "MinCount=1", "--param", "MaxCount=1",
                                          "--param", "InstanceType=t2.micro",
                                          "--then", "TerminateInstances", "--param", "InstanceId.1={id}",
                                          "--extract", "instanceId"]))
        record_value("moto_rss_after", "moto RSS after the load (VmRSS / VmHWM)", "moto", [proc.rss(), proc.hwm()], "MiB", pair=True)
    finally:
        proc.stop()


# ---------------------------------------------------------------------------------------------
# Report


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def num(x):
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def fmt_range(values, unit=""):
    if len(values) == 1:
        return f"{values[0]:.1f} {unit}".strip()
    return f"{med(values):.1f} ({min(values):.1f}–{max(values):.1f}) {unit}".strip()


def fmt_value(e):
    if e.get("pair"):
        return " / ".join(f"{v:.1f}" for v in e["values"]) + f" {e['unit']}"
    return fmt_range(e["values"], e["unit"])


def agg(key, field="rps"):
    e = RESULTS.get(key)
    if not e or "runs" not in e:
        return None
    return med([r[field] for r in e["runs"]])


def table():
    lines = [
        "| scenario | req/s median (min–max) | p50 ms | p99 ms | p99.9 ms | errors | server CPU µs/req | client CPU µs/req | other load (cores) | server RSS after, MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, e in RESULTS.items():
        if "runs" not in e:
            continue
        runs = e["runs"]
        rps = [r["rps"] for r in runs]
        extra = ""
        if "cycles_per_s" in runs[0]:
            extra = f"; {num(med([r['cycles_per_s'] for r in runs]))} cycles/s"
            if runs[0].get("retried"):
                extra += f", {med([r['retried'] for r in runs]):.0f} retried"
        lines.append(
            f"| {e['label']} | {num(med(rps))} ({num(min(rps))}–{num(max(rps))}){extra} "
            f"| {med([r['p50_ms'] for r in runs]):.2f} | {med([r['p99_ms'] for r in runs]):.2f} "
            f"| {med([r['p999_ms'] for r in runs]):.2f} | {sum(r['errors'] for r in runs)} "
            f"| {med([r['server_cpu_us'] for r in runs]):.0f} | {med([r['client_cpu_us'] for r in runs]):.0f} "
            f"| {med([r['other_cores'] for r in runs]):.2f} | {runs[-1]['server_rss_mib']:.0f} |"
        )
    lines += ["", "| measurement | value |", "|---|---|"]
    for key, e in RESULTS.items():
        if "values" in e:
            lines.append(f"| {e['label']} | {fmt_value(e)} |")
    return "\n".join(lines)


def verdicts():
    rows = []

    def add(what, figure, target, met):
        state = "—" if met is None else ("met" if met else "**not met**")
        rows.append(f"| {what} | {figure} | {target} | {state} |")

    def ratio(a, b):
        x, y = agg(a), agg(b)
        return None if not x or not y else x / y

    r = ratio("ecsim_id_v3", "ceiling_v3")
    if r is not None:
        add("DescribeImages by id (V3) vs ceiling (V3-signed client)", f"{r:.1%}", "≥ 50%", r >= 0.5)
    r = ratio("ecsim_id_v1", "ceiling_v1")
    if r is not None:
        add("DescribeImages by id (V1) vs ceiling (V1-signed client)", f"{r:.1%}", "≥ 50%", r >= 0.5)
    r = ratio("ecsim_id_v3", "ceiling_none")
    if r is not None:
        add("DescribeImages by id (V3) vs ceiling (unsigned client)", f"{r:.1%}", "(reference)", None)
    r = ratio("ecsim_id_ram", "ecsim_id_v3")
    if r is not None:
        add("DescribeImages by id: RAM user with 10 policies vs the root key", f"{r:.0%} of its req/s",
            "(scenario; no target)", None)
    r = ratio("ecsim_id_v3", "moto_id")
    if r is not None:
        add("DescribeImages by id (V3) vs moto", f"{r:.0f}×", "≥ 100×", r >= 100)
    p = agg("ecsim_id_v3", "p99_ms")
    if p is not None:
        add("DescribeImages by id p99 at 32 connections", f"{p:.2f} ms", "< 5 ms", p < 5)
    for n in sorted(ARGS.images):
        p = agg(f"ecsim_page_{n}", "p99_ms")
        if p is not None:
            add(f"DescribeImages page of 100, {n} images, p99 at 32 connections", f"{p:.2f} ms",
                "< 10 ms (target stated for 1M)", p < 10)
        p1 = agg(f"ecsim_page1_{n}", "p99_ms")
        if p1 is not None:
            add(f"DescribeImages page of 100, {n} images, p99 at 1 connection", f"{p1:.2f} ms", "< 10 ms", p1 < 10)
    x = agg("ecsim_run_delete")
    if x is not None:
        p = agg("ecsim_run_delete", "p99_ms")
        add("mutating calls/s (RunInstances + DeleteInstance), fsync per commit", f"{x:,.0f}/s, p99 {p:.1f} ms",
            "≥ 5,000/s, p99 < 20 ms", x >= 5000 and p < 20)
    x = agg("ecsim_create_delete", "cycles_per_s")
    if x is not None:
        add("CreateImage + DeleteImage cycles/s (delete once Available)", f"{x:,.0f} cycles/s", "(≥ 2,500 cycles/s for 5,000 calls/s)", x >= 2500)
    x, y = agg("ecsim_refused"), agg("ecsim_id_v3")
    if x and y:
        add("refused DeleteImage vs DescribeImages by id (errors as cheap as successes)", f"{x / y:.0%} of its req/s",
            "≈ 100%", x / y >= 0.8)
    for key, what, limit, unit in [("ecsim_start", "start-up to /healthz, existing dir", 50, "ms"),
                                    ("ecsim_start_after", "start-up to /healthz after the load", 50, "ms"),
                                    ("ecsim_idle_rss", "idle RSS", 20, "MiB")]:
        e = RESULTS.get(key)
        if e:
            v = med(e["values"])
            add(what, f"{v:.1f} {unit}", f"< {limit} {unit}", v < limit)
    for n in sorted(ARGS.images)[1:]:
        e = RESULTS.get(f"ecsim_rss_{n}")
        if e:
            add(f"RSS with {n} images", f"{max(e['values']):.0f} MiB", "< 1024 MiB", max(e["values"]) < 1024)
    return "\n".join(["| target | measured | target value | verdict |", "|---|---|---|---|"] + rows)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Linux {os.uname().release}"


def main():
    global ARGS
    ap = argparse.ArgumentParser(description="ecsim vs the bare-HTTP ceiling vs moto (issue 7)")
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario (median, min–max)")
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--client-threads", type=int, default=2, help="load generator runtime threads")
    ap.add_argument("--start-runs", type=int, default=5, help="start-ups measured on an existing dir")
    ap.add_argument("--images", default="1000", help="comma-separated image counts for the page scenario")
    ap.add_argument("--large", action="store_true", help="same as --images 1000,100000,1000000")
    ap.add_argument("--only", default="ceiling,ecsim,moto", help="comma-separated: ceiling,ecsim,moto")
    ap.add_argument("--no-moto", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="(bench/run) skip cargo build")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--out", default=str(ROOT / "bench/out"), help="where results.json/results.md go")
    ARGS = ap.parse_args()
    ARGS.images = [1000, 100_000, 1_000_000] if ARGS.large else [int(x) for x in ARGS.images.split(",")]
    only = set(ARGS.only.split(","))
    if ARGS.no_moto:
        only.discard("moto")
    for b in (ECSIM, BENCH):
        if not b.exists():
            sys.exit(f"{b} is missing: run bench/run (it builds), or cargo build --release -p ecsim -p ecsim-bench")
    if "moto" in only and not MOTO.exists():
        sys.exit(f"{MOTO} is missing: run bench/run (it installs moto), or pass --no-moto")

    work = Path(tempfile.mkdtemp(prefix="ecsim-bench."))
    started = time.time()
    load_before = loadavg()
    log(f"machine: {machine()}; load average {load_before}; work dir {work}")
    try:
        if "ceiling" in only:
            bench_ceiling(work)
        if "ecsim" in only:
            bench_ecsim(work)
        if "moto" in only:
            bench_moto(work)
    finally:
        cleanup()
        if not ARGS.keep:
            shutil.rmtree(work, ignore_errors=True)
    load_after = loadavg()
    head = (
        f"machine: {machine()}\n"
        f"load average (1/5/15 min) before: {load_before}, after: {load_after}; "
        f"{ARGS.runs} runs × {ARGS.duration:g} s (+{ARGS.warmup:g} s warm-up), "
        f"{ARGS.connections} connections, load generator on {ARGS.client_threads} threads; "
        f"took {time.time() - started:.0f} s"
    )
    report = f"{head}\n\n{table()}\n\n{verdicts()}\n"
    print(report)
    out = Path(ARGS.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(report)
    (out / "results.json").write_text(json.dumps(
        {"machine": machine(), "load_before": load_before, "load_after": load_after,
         "args": vars(ARGS), "results": RESULTS}, indent=1, default=str))
    log(f"written: {out / 'results.md'}, {out / 'results.json'}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        cleanup()
        sys.exit(130)
