"""Second accounts (`ecsim admin create-account`), the `ecsim call` CLI, generated credentials."""
from __future__ import annotations

import json
import stat

from support import REGION, create_image, describe_image, expect_error, images, run_instances, wait_image_status


def test_second_account_isolation(ecsim, tea, system_image):
    [src] = run_instances(tea, system_image)
    mine = create_image(tea, InstanceId=src)
    wait_image_status(tea, mine)

    acct = ecsim.create_account()
    other = ecsim.client("tea-v3", acct["AccessKeyId"], acct["AccessKeySecret"])
    assert other.call("DescribeRegions")["Regions"]["Region"]
    assert images(other.call("DescribeImages", RegionId=REGION, ImageOwnerAlias="self", Status="ALL")) == []
    assert describe_image(other, mine) is None
    assert system_image in {i["ImageId"] for i in images(
        other.call("DescribeImages", RegionId=REGION, ImageOwnerAlias="system", PageSize=100))}
    expect_error(lambda: other.call("DeleteImage", RegionId=REGION, ImageId=mine), 404, "InvalidImageId.NotFound")
    expect_error(lambda: other.call("DeleteImage", RegionId=REGION, ImageId=mine, Force=True),
                 404, "InvalidImageId.NotFound")
    expect_error(lambda: run_instances(other, mine), 404, "InvalidImageId.NotFound")
    assert describe_image(tea, mine)["Status"] == "Available"

    # The other account's own image is invisible to us, and vice versa.
    [osrc] = run_instances(other, system_image)
    theirs = create_image(other, InstanceId=osrc)
    assert describe_image(tea, theirs) is None
    expect_error(lambda: tea.call("DeleteImage", RegionId=REGION, ImageId=theirs), 404, "InvalidImageId.NotFound")
    wait_image_status(other, theirs)
    other.call("DeleteImage", RegionId=REGION, ImageId=theirs)
    # A tombstone of another account's image is still "not yours" for us.
    expect_error(lambda: tea.call("DeleteImage", RegionId=REGION, ImageId=theirs), 404, "InvalidImageId.NotFound")


def _cli(ecsim, action, *args):
    return ecsim.run_cli("call", action, "--endpoint", ecsim.endpoint, *args,
                         env_extra={"ALIBABA_CLOUD_ACCESS_KEY_ID": ecsim.ak,
                                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ecsim.secret})


def test_cli_call(ecsim):
    r = _cli(ecsim, "DescribeRegions")
    assert r.returncode == 0, f"rc={r.returncode}\nstdout={r.stdout}\nstderr={r.stderr}"
    body = json.loads(r.stdout)
    assert "cn-hangzhou" in {x["RegionId"] for x in body["Regions"]["Region"]}, body

    r = _cli(ecsim, "DescribeImages", "--RegionId", REGION, "--ImageOwnerAlias", "system", "--PageSize", "2")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["Images"]["Image"]) == 2

    r = _cli(ecsim, "DeleteImage", "--RegionId", REGION, "--ImageId", "m-nope")
    assert r.returncode != 0, f"expected failure, got rc=0: {r.stdout}"
    assert "InvalidImageId.NotFound" in r.stdout + r.stderr, f"stdout={r.stdout}\nstderr={r.stderr}"


def test_generated_root_credentials(ecsim_factory):
    srv = ecsim_factory(root_keys=None)
    cred_file = srv.data_dir / "credentials.json"
    assert cred_file.exists(), list(srv.data_dir.iterdir())
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600, oct(cred_file.stat().st_mode)
    cred = json.loads(cred_file.read_text())
    assert all(isinstance(cred.get(k), str) and cred[k] for k in ("AccountId", "AccessKeyId", "AccessKeySecret")), cred
    assert srv.client("tea-v3").call("DescribeRegions")["Regions"]["Region"]
    # A restart reuses the stored key rather than minting a new one.
    srv.restart()
    assert json.loads(cred_file.read_text())["AccessKeyId"] == cred["AccessKeyId"]
    assert srv.client("tea-v1").call("DescribeRegions")["Regions"]["Region"]
