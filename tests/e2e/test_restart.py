"""State survives restarts on the same data directory (private servers, not the session one)."""
from __future__ import annotations

import signal

import signer
from support import (REGION, create_image, describe_image, describe_instances, http_request, pick_system_image,
                     run_instances, wait_image_status)


def test_restart_keeps_state(ecsim_factory):
    srv = ecsim_factory(creation_time_ms=4000)
    c = srv.client("tea-v3")
    sys_image = pick_system_image(c)
    srcs = run_instances(c, sys_image, amount=3)

    ready = create_image(c, InstanceId=srcs[0], Description="made before restart")
    deleted = create_image(c, InstanceId=srcs[1])
    wait_image_status(c, ready)
    wait_image_status(c, deleted)
    c.call("DeleteImage", RegionId=REGION, ImageId=deleted)
    [user] = run_instances(c, ready)
    pending = create_image(c, InstanceId=srcs[2])
    assert describe_image(c, pending)["Status"] == "Creating"

    srv.restart()

    img = describe_image(c, ready)
    assert img and img["Status"] == "Available" and img["Description"] == "made before restart", img
    assert describe_instances(c, [user])[0]["ImageId"] == ready
    assert {i["InstanceId"] for i in describe_instances(c, srcs)} == set(srcs)
    assert describe_image(c, deleted) is None
    c.call("DeleteImage", RegionId=REGION, ImageId=deleted)  # tombstone survived: still ignored
    # The image that was Creating at shutdown finishes after the restart.
    assert describe_image(c, pending)["Status"] in ("Creating", "Available")
    wait_image_status(c, pending, timeout=30)

    # Abrupt stop: whatever was acknowledged is durable.
    late = create_image(c, InstanceId=srcs[0])
    c.call("DeleteImage", RegionId=REGION, ImageId=ready, Force=True)
    srv.restart(signal.SIGKILL)
    assert describe_image(c, late) is not None
    assert describe_image(c, ready) is None
    wait_image_status(c, late, timeout=30)


def test_nonce_replay_refused_after_restart(ecsim_factory):
    srv = ecsim_factory()
    p = signer.v1_sign(srv.secret, "POST", signer.v1_params("DescribeRegions", srv.ak))
    target = "/?" + signer.encode_params(p)
    assert http_request(srv.port, "POST", target).status == 200
    srv.restart()
    r = http_request(srv.port, "POST", target)
    assert r.status == 400 and r.json()["Code"] == "SignatureNonceUsed", (r.status, r.body)
