"""Several ecsim nodes on one PostgreSQL database (issue 6), driven by the official SDK.

Each test gets a fresh schema in the local PostgreSQL (`ECSIM_TEST_POSTGRES_URL`, default
postgres://postgres@127.0.0.1:5432/test), dropped afterwards, and two `ecsim serve` processes
with their own data directories (so their own node ids) on it, sharing one `--blob-dir`
(standing in for object storage). Calls are spread across both nodes.

PostgreSQL unreachable: these tests fail; `ECSIM_SKIP_POSTGRES=1` skips them (local runs).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest

import signer
from support import (REGION, ApiError, create_image, describe_image, exported_disk, http_request, images,
                     pick_system_image, run_instances, unique, wait_image_status, wait_until)

BASE_URL = os.environ.get("ECSIM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
SHANGHAI = "cn-shanghai"
MIB = 1024 * 1024
RACE_ROUNDS = 20


def psql(sql: str) -> str:
    r = subprocess.run(["psql", BASE_URL, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"psql failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout.strip()


@pytest.fixture
def schema():
    if os.environ.get("ECSIM_SKIP_POSTGRES") == "1":
        pytest.skip("ECSIM_SKIP_POSTGRES=1")
    name = f"ecsim_test_e2e_{uuid.uuid4().hex[:12]}"
    try:
        psql(f"CREATE SCHEMA {name}")
    except (OSError, RuntimeError) as e:
        pytest.fail(f"PostgreSQL at {BASE_URL} is needed ({e}); start it (.ci/run does) "
                    "or set ECSIM_SKIP_POSTGRES=1")
    yield name
    psql(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def schema_url(name: str) -> str:
    sep = "&" if "?" in BASE_URL else "?"
    return f"{BASE_URL}{sep}options=-csearch_path%3D{name}"


def start_nodes(ecsim_factory, tmp_path: Path, schema: str, *extra: str, count: int = 2):
    blobs = tmp_path / "shared-blobs"
    oss = tmp_path / "oss"
    (oss / "e2e-bucket").mkdir(parents=True, exist_ok=True)
    args = ("--database-url", schema_url(schema), "--blob-dir", str(blobs), "--oss-root", str(oss), *extra)
    return [ecsim_factory(extra_args=args) for _ in range(count)]


@pytest.fixture
def nodes(ecsim_factory, tmp_path, schema):
    return start_nodes(ecsim_factory, tmp_path, schema)


def test_nodes_have_their_own_ids_and_share_the_data(nodes):
    a, b = nodes
    assert (a.data_dir / "node-id").read_text() != (b.data_dir / "node-id").read_text()
    ca, cb = a.client(), b.client()
    [instance] = run_instances(ca, pick_system_image(ca))
    # Written through A, read through B in the very next request.
    listed = cb.call("DescribeInstances", RegionId=REGION, InstanceIds=f'["{instance}"]')
    assert [i["InstanceId"] for i in listed["Instances"]["Instance"]] == [instance]
    image_id = create_image(cb, InstanceId=instance)
    assert describe_image(ca, image_id)["Status"] in ("Creating", "Available")
    wait_image_status(ca, image_id)
    cb.call("TagResources", RegionId=REGION, ResourceType="image", ResourceId=[image_id],
            Tag=[{"Key": "node", "Value": "b"}])
    tagged = images(ca.call("DescribeImages", RegionId=REGION, ImageId=image_id,
                            Tag=[{"Key": "node", "Value": "b"}]))
    assert [i["ImageId"] for i in tagged] == [image_id]
    ca.call("ModifyImageAttribute", RegionId=REGION, ImageId=image_id, Description="from A")
    assert describe_image(cb, image_id)["Description"] == "from A"


def test_delete_on_one_node_races_launch_and_share_on_the_other(nodes):
    """No instance or share is ever created from an image deleted without Force."""
    a, b = nodes
    ca = a.client()
    other = a.run_cli("admin", "create-account", "--database-url", schema_url_of(a))
    assert other.returncode == 0, other.stderr
    other_account = json.loads(other.stdout)["AccountId"]
    srcs = run_instances(ca, pick_system_image(ca), amount=RACE_ROUNDS)
    image_ids = [create_image(ca, InstanceId=s) for s in srcs]
    for mid in image_ids:
        wait_image_status(ca, mid)

    outcomes: Counter = Counter()
    violations: list[str] = []
    for rnd, mid in enumerate(image_ids):
        barrier = threading.Barrier(3)
        results: dict[str, object] = {}

        def attempt(key, fn, barrier=barrier, results=results):
            barrier.wait()
            try:
                results[key] = fn()
            except ApiError as e:
                results[key] = e

        deleter, launcher, sharer = a.client(), b.client(), b.client()
        threads = [
            threading.Thread(target=attempt, args=("delete", lambda c=deleter, m=mid: c.call(
                "DeleteImage", RegionId=REGION, ImageId=m))),
            threading.Thread(target=attempt, args=("run", lambda c=launcher, m=mid: run_instances(c, m))),
            threading.Thread(target=attempt, args=("share", lambda c=sharer, m=mid: c.call(
                "ModifyImageSharePermission", RegionId=REGION, ImageId=m, AddAccount=[str(other_account)]))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), f"round {rnd}: a request hung"
        deleted = not isinstance(results["delete"], ApiError)
        launched = not isinstance(results["run"], ApiError)
        shared = not isinstance(results["share"], ApiError)
        outcomes["deleted" if deleted else "kept"] += 1
        if deleted and (launched or shared):
            violations.append(f"round {rnd}: {mid} deleted without Force but launch={results['run']!r} "
                              f"share={results['share']!r}")
        if not deleted:
            err = results["delete"]
            if err.code not in ("ImageUsingByInstance", "ImageUseShared") or not (launched or shared):
                violations.append(f"round {rnd}: delete failed with {err!r} (launch={launched}, share={shared})")
        for key in ("run", "share"):
            err = results[key]
            if isinstance(err, ApiError) and not (deleted and err.status in (400, 403, 404)):
                violations.append(f"round {rnd}: {key} failed unexpectedly: {err}")
        if (describe_image(b.client(), mid) is not None) == deleted:
            violations.append(f"round {rnd}: delete answered {deleted} but the image says otherwise")
    print(f"cross-node race outcomes over {RACE_ROUNDS} rounds: {dict(outcomes)}")
    assert not violations, "\n".join(violations)


def schema_url_of(node) -> str:
    args = node.extra_args
    return args[args.index("--database-url") + 1]


def test_a_nonce_used_on_one_node_is_refused_on_the_other(nodes):
    a, b = nodes
    nonce = signer.nonce()
    params = signer.v1_sign(a.secret, "POST", signer.v1_params("DescribeRegions", a.ak, signature_nonce=nonce))
    target = "/?" + signer.encode_params(params)
    assert http_request(a.port, "POST", target).status == 200
    replay = http_request(b.port, "POST", target)
    assert replay.status == 400 and replay.json()["Code"] == "SignatureNonceUsed", replay
    # And back again: A refuses it too.
    again = http_request(a.port, "POST", target)
    assert again.status == 400 and again.json()["Code"] == "SignatureNonceUsed", again


def test_client_token_is_idempotent_across_nodes(nodes):
    a, b = nodes
    ca, cb = a.client(), b.client()
    system = pick_system_image(ca)
    token = uuid.uuid4().hex
    first = run_instances(ca, system, amount=2, ClientToken=token)
    assert run_instances(cb, system, amount=2, ClientToken=token) == first
    # The same token at the same time on both nodes: one set of instances.
    token = uuid.uuid4().hex
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def launch(key, c):
        barrier.wait()
        results[key] = run_instances(c, system, amount=1, ClientToken=token)

    threads = [threading.Thread(target=launch, args=(k, c)) for k, c in (("a", a.client()), ("b", b.client()))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results["a"] == results["b"], results
    name_token = uuid.uuid4().hex
    name = unique("idem")
    m1 = create_image(cb, InstanceId=first[0], ImageName=name, ClientToken=name_token)
    assert create_image(ca, InstanceId=first[0], ImageName=name, ClientToken=name_token) == m1


def lease_owner(schema: str, task_id: str) -> str | None:
    owner = psql(f"SELECT lease_owner FROM {schema}.tasks WHERE id = '{task_id}'")
    return owner or None


def test_a_task_whose_node_is_killed_is_finished_by_the_other(ecsim_factory, tmp_path, schema):
    a, b = start_nodes(ecsim_factory, tmp_path, schema,
                       "--task-bytes-per-second", str(2 * MIB), "--task-lease-ms", "2000")
    ca = a.client()
    [instance] = run_instances(ca, pick_system_image(ca))
    source = create_image(ca, InstanceId=instance)
    wait_image_status(ca, source, timeout=60)
    copy_id = ca.call("CopyImage", RegionId=REGION, ImageId=source, DestinationRegionId=SHANGHAI)["ImageId"]
    [task] = ca.call("DescribeTasks", RegionId=SHANGHAI, ResourceIds=[copy_id])["TaskSet"]["Task"]
    task_id = task["TaskId"]

    def moving():
        attr = ca.call("DescribeTaskAttribute", RegionId=SHANGHAI, TaskId=task_id)
        owner = lease_owner(schema, task_id)
        busy = attr["TaskStatus"] == "Processing" and attr["TaskProcess"] not in ("0%", "100%")
        return owner if busy and owner else None

    owner = wait_until(moving, timeout=30, interval=0.05, what="the copy to be moving bytes")
    ids = {n: (n.data_dir / "node-id").read_text().strip() for n in (a, b)}
    victim = next(n for n in (a, b) if owner.startswith(ids[n] + "#"))
    survivor = b if victim is a else a
    victim.stop(signal.SIGKILL)
    cs = survivor.client()
    final = wait_until(
        lambda: (lambda img: img if img and img["Status"] not in ("Creating", "Waiting") else None)(
            describe_image(cs, copy_id, SHANGHAI)),
        timeout=90, what="the orphaned copy to end on the surviving node")
    attr = cs.call("DescribeTaskAttribute", RegionId=SHANGHAI, TaskId=task_id)
    assert final["Status"] == "Available" and attr["TaskStatus"] == "Finished", (final, attr)
    assert lease_owner(schema, task_id) is None or lease_owner(schema, task_id).startswith(ids[survivor] + "#")
    # The copy's bytes are the source's: export both through the survivor and compare.
    bucket = tmp_path / "oss" / "e2e-bucket"
    for region, image_id, prefix in ((REGION, source, "src"), (SHANGHAI, copy_id, "cpy")):
        tid = cs.call("ExportImage", RegionId=region, ImageId=image_id, OSSBucket="e2e-bucket",
                      OSSPrefix=prefix, ImageFormat="raw")["TaskId"]
        wait_until(lambda tid=tid, region=region: cs.call("DescribeTaskAttribute", RegionId=region, TaskId=tid)[
            "TaskStatus"] == "Finished", timeout=60, what=f"export {tid}")

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert digest(exported_disk(bucket, "src", source)) == digest(exported_disk(bucket, "cpy", copy_id))
