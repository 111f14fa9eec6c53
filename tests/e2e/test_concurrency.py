"""DeleteImage (no Force) racing RunInstances on the same unused image.

Invariant (design.md "Races"): no instance is ever created from an image deleted without
Force. Per round: never both "delete succeeded" and "a launch succeeded"; a refused delete
must be ImageUsingByInstance; the final state must agree with what the clients were told.
"""
from __future__ import annotations

import threading
from collections import Counter

from support import REGION, ApiError, create_image, describe_image, run_instances, wait_image_status

ROUNDS = 30
LAUNCHERS = 3


def test_delete_races_run_instances(ecsim, tea, system_image):
    srcs = run_instances(tea, system_image, amount=ROUNDS)
    image_ids = [create_image(tea, InstanceId=s) for s in srcs]
    for mid in image_ids:
        wait_image_status(tea, mid)

    outcomes = Counter()
    violations = []
    for rnd, mid in enumerate(image_ids):
        clients = [ecsim.client("tea-v3") for _ in range(LAUNCHERS + 1)]
        barrier = threading.Barrier(LAUNCHERS + 1)
        results: dict[str, object] = {}

        def delete(c=clients[0], mid=mid, results=results, barrier=barrier):
            barrier.wait()
            try:
                c.call("DeleteImage", RegionId=REGION, ImageId=mid)
                results["delete"] = "ok"
            except ApiError as e:
                results["delete"] = e

        def launch(n, c, mid=mid, results=results, barrier=barrier):
            barrier.wait()
            try:
                results[f"run{n}"] = run_instances(c, mid)
            except ApiError as e:
                results[f"run{n}"] = e

        threads = [threading.Thread(target=delete)] + [
            threading.Thread(target=launch, args=(n, clients[n + 1])) for n in range(LAUNCHERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), f"round {rnd}: a request hung"

        deleted = results["delete"] == "ok"
        launched = [iid for k, v in results.items() if k.startswith("run") and isinstance(v, list) for iid in v]
        run_errors = [v for k, v in results.items() if k.startswith("run") and isinstance(v, ApiError)]
        outcomes["deleted" if deleted else "launched"] += 1

        if deleted and launched:
            violations.append(f"round {rnd}: image {mid} deleted without Force AND instances {launched} created")
        if not deleted:
            err = results["delete"]
            if not (isinstance(err, ApiError) and err.code == "ImageUsingByInstance" and launched):
                violations.append(f"round {rnd}: delete failed with {err!r} while launches were {launched}")
        for e in run_errors:
            if not (deleted and e.status in (403, 404)):
                violations.append(f"round {rnd}: RunInstances failed unexpectedly: {e}")
        # What the store says must match what the clients were told.
        still_there = describe_image(tea, mid) is not None
        if still_there == deleted:
            violations.append(f"round {rnd}: delete returned {'ok' if deleted else 'error'} but image present={still_there}")
        if launched:
            listed = tea.call("DescribeInstances", RegionId=REGION, ImageId=mid, PageSize=100)["Instances"]["Instance"]
            if {i["InstanceId"] for i in listed} != set(launched):
                violations.append(f"round {rnd}: launched {launched}, DescribeInstances(ImageId) lists {listed}")

    print(f"race outcomes over {ROUNDS} rounds: {dict(outcomes)}")
    assert not violations, "\n".join(violations)
