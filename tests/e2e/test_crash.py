"""Group commit under a crash: nothing acknowledged is lost.

32 client threads (Tea SDK, V3-signed) run mutating calls against a private server; once
enough calls were acknowledged the server is SIGKILLed while calls are still in flight,
restarted on the same data dir, and every acknowledged effect must be there: each
RunInstances/CreateImage id exists, each acknowledged DeleteInstance stayed deleted. Calls in
flight at the kill (no answer) may have gone either way and are not checked.

A SIGKILL keeps the kernel's page cache, so this proves the server never answers before its
commit is in the WAL (and that recovery works), not that the fsync happened; the power-loss half
is `ecsim-store`'s `every_acknowledged_write_survives_a_simulated_power_loss` (see
BENCHMARKS.md, "Group commit").
"""
from __future__ import annotations

import signal
import threading

from support import REGION, ApiError, describe_instances, images, pick_system_image, unique, wait_until

THREADS = 32
ACKED_BEFORE_KILL = 300


def test_sigkill_under_load_loses_nothing_acknowledged(ecsim_factory):
    srv = ecsim_factory(creation_time_ms=0)
    setup = srv.client("tea-v3")
    sys_image = pick_system_image(setup)

    lock = threading.Lock()
    instances: set[str] = set()   # RunInstances acknowledged, no DeleteInstance sent
    deleting: set[str] = set()    # DeleteInstance sent, no answer yet: may go either way
    deleted: set[str] = set()     # DeleteInstance acknowledged
    made: set[str] = set()        # CreateImage acknowledged
    refused: list[ApiError] = []  # an API error before the kill is a bug
    killed = threading.Event()
    cut_off = [0]                 # calls that failed because the server died under them

    def acked() -> int:
        with lock:
            return len(instances) + len(deleted) + len(made)

    def worker(n: int) -> None:
        c = srv.client("tea-v3")
        i = 0
        while True:
            try:
                [iid] = c.call("RunInstances", RegionId=REGION, ImageId=sys_image,
                               InstanceType="ecs.g7.large", Amount=1)["InstanceIdSets"]["InstanceIdSet"]
                with lock:
                    instances.add(iid)
                if i % 2 == 0:
                    mid = c.call("CreateImage", RegionId=REGION, InstanceId=iid,
                                 ImageName=unique(f"crash{n}"))["ImageId"]
                    with lock:
                        made.add(mid)
                else:
                    with lock:
                        instances.discard(iid)
                        deleting.add(iid)
                    c.call("DeleteInstance", InstanceId=iid, Force=True)
                    with lock:
                        deleting.discard(iid)
                        deleted.add(iid)
            except ApiError as e:
                if killed.is_set():
                    with lock:
                        cut_off[0] += 1
                    return
                with lock:
                    refused.append(e)
                return
            except Exception:  # connection refused/reset: the server is gone
                if not killed.is_set():
                    raise
                with lock:
                    cut_off[0] += 1
                return
            i += 1

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(THREADS)]
    for t in threads:
        t.start()
    wait_until(lambda: acked() >= ACKED_BEFORE_KILL or refused, timeout=120,
               what=f"{ACKED_BEFORE_KILL} acknowledged calls")
    assert not refused, refused[:3]
    killed.set()
    srv.stop(signal.SIGKILL)
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a client hung after the kill"
    assert not refused, refused[:3]
    # The kill happened mid-load: some calls had no answer.
    assert cut_off[0] > 0

    srv.start()
    c = srv.client("tea-v3")
    live = sorted(instances)
    for k in range(0, len(live), 100):
        chunk = live[k:k + 100]
        found = {i["InstanceId"] for i in describe_instances(c, chunk)}
        assert found == set(chunk), f"acknowledged instances lost: {sorted(set(chunk) - found)}"
    gone = sorted(deleted)
    for k in range(0, len(gone), 100):
        chunk = gone[k:k + 100]
        found = {i["InstanceId"] for i in describe_instances(c, chunk)}
        assert not found, f"acknowledged deletes undone: {sorted(found)}"
    ids = sorted(made)
    for k in range(0, len(ids), 100):
        chunk = ids[k:k + 100]
        body = c.call("DescribeImages", RegionId=REGION, ImageId=",".join(chunk), Status="ALL", PageSize=100)
        found = {i["ImageId"] for i in images(body)}
        assert found == set(chunk), f"acknowledged images lost: {sorted(set(chunk) - found)}"
    # No image is Available without its bytes, whether its call was answered or cut off by the
    # kill (with no creation time an image made from an instance is born Available: its bytes
    # are cloned and their directory fsynced before the commit that records it).
    page, available = 1, []
    while True:
        body = c.call("DescribeImages", RegionId=REGION, ImageOwnerAlias="self", Status="Available",
                      PageSize=100, PageNumber=page)
        batch = [i["ImageId"] for i in images(body)]
        available += batch
        if len(batch) < 100:
            break
        page += 1
    assert set(ids) <= set(available), "an acknowledged instant image is not Available"
    blobs = srv.data_dir / "blobs" / REGION
    missing = [i for i in available if not (blobs / i).is_file()]
    assert not missing, f"Available images without their bytes: {missing[:5]}"
    print(f"acknowledged before the kill: {len(live)} instances, {len(gone)} deletes, {len(ids)} images; "
          f"{cut_off[0]} calls cut off")
