"""The image lifecycle, driven end to end by each official Python SDK flavour."""
from __future__ import annotations

import pytest

from support import (CLIENT_KINDS, REGION, ApiError, create_image, describe_image, describe_instances,
                     expect_error, first_zone, images, pick_system_image, run_instances, unique,
                     wait_image_status, wait_until)

SPEC_REGIONS = {"cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-hangzhou", "cn-shanghai",
                "cn-shenzhen", "cn-guangzhou", "cn-chengdu", "cn-hongkong", "ap-northeast-1", "ap-northeast-2",
                "ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "us-east-1", "us-west-1", "eu-central-1",
                "eu-west-1", "me-east-1"}


@pytest.fixture(params=CLIENT_KINDS)
def client(request, ecsim):
    return ecsim.client(request.param)


def test_regions_and_zones(client):
    regions = client.call("DescribeRegions")["Regions"]["Region"]
    ids = {r["RegionId"] for r in regions}
    assert SPEC_REGIONS <= ids, f"missing regions: {sorted(SPEC_REGIONS - ids)}"
    hz = next(r for r in regions if r["RegionId"] == "cn-hangzhou")
    assert hz["RegionEndpoint"] == "ecs.cn-hangzhou.aliyuncs.com", hz
    assert hz["Status"] in ("available", "soldOut"), hz
    zones = client.call("DescribeZones", RegionId=REGION)["Zones"]["Zone"]
    assert zones and all(z["ZoneId"].startswith(REGION + "-") for z in zones), zones


def test_image_lifecycle(client):
    c = client
    sys_image = pick_system_image(c)
    zone = first_zone(c)

    # Launch from the public image; instances start Running.
    [src] = run_instances(c, sys_image, ZoneId=zone)
    inst = wait_until(lambda: describe_instances(c, [src]), what="source instance to be listed")[0]
    assert inst["Status"] == "Running" and inst["ImageId"] == sys_image and inst["ZoneId"] == zone, inst

    # CreateImage from the instance: Creating with a percentage, then Available.
    name = unique("flow")
    image_id = create_image(c, InstanceId=src, ImageName=name, Description="e2e lifecycle image")
    img = describe_image(c, image_id)
    assert img is not None, "new image not visible with Status=ALL"
    assert img["Status"] == "Creating", img
    assert isinstance(img["Progress"], str) and img["Progress"].endswith("%"), img
    assert img["ImageName"] == name and img["ImageOwnerAlias"] == "self", img
    # The default Status filter (Available) hides an image that is still Creating.
    assert images(c.call("DescribeImages", RegionId=REGION, ImageId=image_id)) == []

    img = wait_image_status(c, image_id, "Available")
    assert img["Progress"] == "100%", img

    # Launch from the custom image; now it is in use.
    [user] = run_instances(c, image_id)
    assert describe_instances(c, [user])[0]["ImageId"] == image_id

    e = expect_error(lambda: c.call("DeleteImage", RegionId=REGION, ImageId=image_id), 403, "ImageUsingByInstance")
    _check_sdk_exception(c, e, 403, "ImageUsingByInstance")
    assert describe_image(c, image_id)["Status"] == "Available", "refused delete must not change the image"

    body = c.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=True)
    assert isinstance(body.get("RequestId"), str) and body["RequestId"], body

    # Gone, whatever the status filter.
    assert describe_image(c, image_id) is None
    gone = c.call("DescribeImages", RegionId=REGION, ImageId=image_id, Status="ALL")
    assert gone["TotalCount"] == 0 and images(gone) == [], gone
    assert image_id not in {i["ImageId"] for i in images(
        c.call("DescribeImages", RegionId=REGION, ImageOwnerAlias="self", Status="ALL", PageSize=100))}

    # Deleting it again is ignored (tombstone), not an error.
    c.call("DeleteImage", RegionId=REGION, ImageId=image_id)
    c.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=True)

    # Never-existing and public images are not ours: 404.
    e = expect_error(lambda: c.call("DeleteImage", RegionId=REGION, ImageId="m-doesnotexist0000000"),
                     404, "InvalidImageId.NotFound")
    _check_sdk_exception(c, e, 404, "InvalidImageId.NotFound")
    expect_error(lambda: c.call("DeleteImage", RegionId=REGION, ImageId=sys_image), 404, "InvalidImageId.NotFound")
    assert describe_image(c, sys_image) is not None, "system image must survive a refused delete"

    # Missing ImageId: 400.
    expect_error(lambda: c.call("DeleteImage", RegionId=REGION), 400)

    # The instance launched from the deleted image keeps reporting its ImageId.
    inst = describe_instances(c, [user])[0]
    assert inst["ImageId"] == image_id and inst["Status"] == "Running", inst
    listed = c.call("DescribeInstances", RegionId=REGION, ImageId=image_id)["Instances"]["Instance"]
    assert user in {i["InstanceId"] for i in listed}, listed

    # No new instances from a deleted image.
    e = expect_error(lambda: run_instances(c, image_id), None)
    assert e.status in (403, 404), e


def test_special_characters_round_trip(client, ecsim):
    """Values that each SDK encodes differently on the wire (space, *, +, /, =, &, !, ', (, ), CJK)
    must verify and come back unchanged (spec/wire-protocol.md §1, §3)."""
    odd = "e2e a b*c~d+e/f=g&h!'()中文 " + client.kind
    assert client.call("DescribeImages", RegionId=REGION, ImageName=odd, Status="ALL")["TotalCount"] == 0
    tea = ecsim.client("tea-v3")
    [src] = run_instances(client, pick_system_image(client))
    image_id = create_image(client, InstanceId=src, Description=odd)
    assert describe_image(client, image_id)["Description"] == odd
    assert describe_image(tea, image_id)["Description"] == odd
    wait_image_status(client, image_id)
    client.call("ModifyImageAttribute", RegionId=REGION, ImageId=image_id, Description=odd + " (2)")
    assert describe_image(client, image_id)["Description"] == odd + " (2)"
    client.call("DeleteImage", RegionId=REGION, ImageId=image_id)


def _check_sdk_exception(c, e: ApiError, status: int, code: str) -> None:
    """Check the attributes the SDK itself exposes, not just our normalised view."""
    exc = e.sdk_exc
    if c.kind.startswith("tea"):
        from alibabacloud_tea_openapi.exceptions import ClientException

        assert isinstance(exc, ClientException), type(exc)
        assert exc.code == code and exc.status_code == status and exc.statusCode == status
        assert exc.request_id and exc.data["RequestId"] == exc.request_id, exc.data
        assert f"code: {status}" in exc.message, exc.message
    else:
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        assert isinstance(exc, ServerException), type(exc)
        assert exc.get_error_code() == code and exc.get_http_status() == status
        assert exc.get_request_id(), "classic SDK found no RequestId"
