"""Sharing and community images across two accounts, through each official Python SDK flavour
(spec ecs-image-api §3.1, §3.3, §3.5, §3.6)."""
from __future__ import annotations

import pytest

from support import (CLIENT_KINDS, REGION, create_image, describe_image, describe_instances,
                     expect_error, images, pick_system_image, run_instances, wait_image_status)


@pytest.fixture(params=CLIENT_KINDS)
def kind(request):
    return request.param


def visible(c, image_id: str) -> tuple[bool, bool]:
    """(in the recipient's default listing, in the community listing)."""
    default = images(c.call("DescribeImages", RegionId=REGION, ImageId=image_id))
    community = images(c.call("DescribeImages", RegionId=REGION, ImageId=image_id,
                              ImageOwnerAlias="others", IsPublic=True))
    return ([i["ImageId"] for i in default] == [image_id], [i["ImageId"] for i in community] == [image_id])


def test_share_publish_and_delete_across_accounts(ecsim, kind):
    owner = ecsim.client(kind)
    acct = ecsim.create_account()
    recipient = ecsim.client(kind, ak=acct["AccessKeyId"], secret=acct["AccessKeySecret"])

    [src] = run_instances(owner, pick_system_image(owner))
    image_id = create_image(owner, InstanceId=src)
    wait_image_status(owner, image_id, "Available")
    assert visible(recipient, image_id) == (False, False)

    # Share: the recipient sees it as "others" and can launch from it.
    owner.call("ModifyImageSharePermission", RegionId=REGION, ImageId=image_id, AddAccount=[acct["AccountId"]])
    assert visible(recipient, image_id) == (True, False)
    seen = images(recipient.call("DescribeImages", RegionId=REGION, ImageId=image_id))[0]
    assert seen["ImageOwnerAlias"] == "others", seen
    assert str(seen["ImageOwnerId"]) != acct["AccountId"], seen
    assert describe_image(owner, image_id)["IsSelfShared"] == "True"
    perms = owner.call("DescribeImageSharePermission", RegionId=REGION, ImageId=image_id)
    assert [a["AliyunId"] for a in perms["Accounts"]["Account"]] == [acct["AccountId"]], perms
    assert perms["TotalCount"] == 1, perms
    [used] = run_instances(recipient, image_id)

    # The recipient cannot delete it; the owner cannot while it is shared, even with Force.
    expect_error(lambda: recipient.call("DeleteImage", RegionId=REGION, ImageId=image_id), 404,
                 "InvalidImageId.NotFound")
    for force in (False, True):
        expect_error(lambda: owner.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=force), 403,
                     "ImageUseShared")

    # Unshare, publish as a community image: everyone sees it, and it cannot be deleted.
    owner.call("ModifyImageSharePermission", RegionId=REGION, ImageId=image_id, RemoveAccount=[acct["AccountId"]])
    assert visible(recipient, image_id) == (False, False)
    owner.call("ModifyImageSharePermission", RegionId=REGION, ImageId=image_id, IsPublic=True)
    assert visible(recipient, image_id) == (False, True)
    perms = owner.call("DescribeImageSharePermission", RegionId=REGION, ImageId=image_id)
    assert perms["ShareGroups"]["ShareGroup"] == [{"Group": "all"}], perms
    for force in (False, True):
        expect_error(lambda: owner.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=force), 403,
                     "ImageIsPublic")

    # Unpublish; the recipient's instance still uses it, so only Force deletes it.
    owner.call("ModifyImageSharePermission", RegionId=REGION, ImageId=image_id, IsPublic=False)
    expect_error(lambda: owner.call("DeleteImage", RegionId=REGION, ImageId=image_id), 403, "ImageUsingByInstance")
    owner.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=True)
    assert visible(recipient, image_id) == (False, False)
    assert describe_image(owner, image_id) is None
    assert describe_instances(recipient, [used])[0]["ImageId"] == image_id


def test_share_errors(ecsim):
    owner = ecsim.client("tea-v3")
    acct = ecsim.create_account()
    [src] = run_instances(owner, pick_system_image(owner))
    image_id = create_image(owner, InstanceId=src)
    wait_image_status(owner, image_id, "Available")
    own_account = images(owner.call("DescribeImages", RegionId=REGION, ImageId=image_id))[0]["ImageOwnerId"]
    expect_error(lambda: owner.call("ModifyImageSharePermission", RegionId=REGION, ImageId=image_id,
                                    AddAccount=[str(own_account)]), 404, "InvalidAccount.Forbbiden")
    expect_error(lambda: owner.call("ModifyImageSharePermission", RegionId=REGION, ImageId=image_id,
                                    AddAccount=["1999999999999999"]), 404, "InvalidAccount.NotFound")
    expect_error(lambda: owner.call("ModifyImageSharePermission", RegionId=REGION, ImageId=image_id,
                                    IsPublic=False), 403, "Image.NotPublic")
    expect_error(lambda: owner.call("ModifyImageSharePermission", RegionId=REGION,
                                    ImageId=pick_system_image(owner), AddAccount=[acct["AccountId"]]),
                 403, "Image.Public")
    expect_error(lambda: owner.call("DescribeImageSharePermission", RegionId=REGION, ImageId="m-bp1nosuchimage00000"),
                 404, "InvalidImageId.NotFound")
