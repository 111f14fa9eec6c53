"""Image operations beyond the basic lifecycle (Tea SDK, V3 signing)."""
from __future__ import annotations

import json

from support import (REGION, create_image, describe_image, describe_instances, expect_error, images,
                     run_instances, unique, wait_image_status, wait_until)


def _snapshot(c, snapshot_id: str) -> dict | None:
    snaps = c.call("DescribeSnapshots", RegionId=REGION, SnapshotIds=json.dumps([snapshot_id]))["Snapshots"]["Snapshot"]
    return snaps[0] if snaps else None


def _wait_snapshot_accomplished(c, snapshot_id: str) -> dict:
    return wait_until(lambda: (lambda s: s if s and s["Status"] == "accomplished" else None)(_snapshot(c, snapshot_id)),
                      what=f"snapshot {snapshot_id} accomplished")


def test_delete_refused_while_creating(tea, system_image):
    [src] = run_instances(tea, system_image)
    image_id = create_image(tea, InstanceId=src)
    assert describe_image(tea, image_id)["Status"] == "Creating"
    expect_error(lambda: tea.call("DeleteImage", RegionId=REGION, ImageId=image_id), 403, "ImageIsCreating")
    # Force only overrides instance use, not the Creating state.
    expect_error(lambda: tea.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=True), 403, "ImageIsCreating")
    wait_image_status(tea, image_id, "Available")
    tea.call("DeleteImage", RegionId=REGION, ImageId=image_id)
    assert describe_image(tea, image_id) is None


def test_instance_deletion_releases_image(tea, system_image):
    [src] = run_instances(tea, system_image)
    image_id = create_image(tea, InstanceId=src)
    wait_image_status(tea, image_id)
    running = run_instances(tea, image_id, amount=2)
    stopped = tea.call("CreateInstance", RegionId=REGION, ImageId=image_id, InstanceType="ecs.g7.large")["InstanceId"]
    assert describe_instances(tea, [stopped])[0]["Status"] == "Stopped"
    assert describe_image(tea, image_id).get("Usage") == "instance"

    # A Running instance needs Force; a Stopped one does not.
    expect_error(lambda: tea.call("DeleteInstance", InstanceId=running[0]), 403, "IncorrectInstanceStatus")
    tea.call("DeleteInstance", InstanceId=stopped)
    tea.call("DeleteInstance", InstanceId=running[0], Force=True)
    expect_error(lambda: tea.call("DeleteImage", RegionId=REGION, ImageId=image_id), 403, "ImageUsingByInstance")
    tea.call("DeleteInstances", RegionId=REGION, InstanceId=[running[1]], Force=True)
    assert describe_instances(tea, running + [stopped]) == []

    assert tea.call("DescribeInstances", RegionId=REGION, InstanceIds="[]")["Instances"]["Instance"] == []

    # No live instance uses it any more: a plain delete works (DryRun only validates).
    assert describe_image(tea, image_id).get("Usage") == "none"
    expect_error(lambda: tea.call("DeleteImage", RegionId=REGION, ImageId=image_id, DryRun=True), 400, "DryRunOperation")
    assert describe_image(tea, image_id)["Status"] == "Available"
    tea.call("DeleteImage", RegionId=REGION, ImageId=image_id)
    assert describe_image(tea, image_id) is None


def test_snapshots_survive_image_deletion(tea, system_image):
    [src] = run_instances(tea, system_image)
    disks = tea.call("DescribeDisks", RegionId=REGION, InstanceId=src)["Disks"]["Disk"]
    system_disk = next(d for d in disks if d["Type"] == "system")
    assert system_disk["Size"] > 0, system_disk
    again = tea.call("DescribeDisks", RegionId=REGION, DiskIds=json.dumps([system_disk["DiskId"]]))["Disks"]["Disk"]
    assert [d["DiskId"] for d in again] == [system_disk["DiskId"]]

    snap_id = tea.call("CreateSnapshot", DiskId=system_disk["DiskId"], SnapshotName=unique("snap"))["SnapshotId"]
    assert snap_id.startswith("s-"), snap_id
    _wait_snapshot_accomplished(tea, snap_id)

    by_snapshot = create_image(tea, SnapshotId=snap_id)
    by_mapping = create_image(tea, DiskDeviceMapping=[{"SnapshotId": snap_id}])
    for mid in (by_snapshot, by_mapping):
        img = wait_image_status(tea, mid)
        refs = [m.get("SnapshotId") for m in img["DiskDeviceMappings"]["DiskDeviceMapping"]]
        assert snap_id in refs, img

    expect_error(lambda: tea.call("DeleteSnapshot", SnapshotId=snap_id), 403, "SnapshotCreatedImage")
    expect_error(lambda: tea.call("DeleteSnapshot", SnapshotId=snap_id, Force=True), 403, "SnapshotCreatedImage")
    tea.call("DeleteImage", RegionId=REGION, ImageId=by_snapshot)
    assert _snapshot(tea, snap_id) is not None, "snapshot must be kept after DeleteImage"
    expect_error(lambda: tea.call("DeleteSnapshot", SnapshotId=snap_id), 403, "SnapshotCreatedImage")
    tea.call("DeleteImage", RegionId=REGION, ImageId=by_mapping)
    assert _snapshot(tea, snap_id) is not None
    tea.call("DeleteSnapshot", SnapshotId=snap_id)
    assert _snapshot(tea, snap_id) is None

    # An image made from an instance snapshots its disks; those snapshots outlive the image too.
    from_instance = create_image(tea, InstanceId=src)
    img = wait_image_status(tea, from_instance)
    inst_snaps = [m["SnapshotId"] for m in img["DiskDeviceMappings"]["DiskDeviceMapping"] if m.get("SnapshotId")]
    assert inst_snaps, img
    tea.call("DeleteImage", RegionId=REGION, ImageId=from_instance)
    for sid in inst_snaps:
        assert _snapshot(tea, sid) is not None, f"snapshot {sid} vanished with its image"
        tea.call("DeleteSnapshot", SnapshotId=sid)


def test_client_token_idempotency(tea, system_image):
    token = unique("tok")
    ids1 = run_instances(tea, system_image, amount=2, ClientToken=token)
    ids2 = run_instances(tea, system_image, amount=2, ClientToken=token)
    assert ids1 == ids2
    assert len(describe_instances(tea, ids1)) == 2

    name = unique("idem")
    token = unique("tok")
    m1 = create_image(tea, InstanceId=ids1[0], ImageName=name, ClientToken=token)
    m2 = create_image(tea, InstanceId=ids1[0], ImageName=name, ClientToken=token)
    assert m1 == m2
    same_name = images(tea.call("DescribeImages", RegionId=REGION, ImageName=name, Status="ALL"))
    assert [i["ImageId"] for i in same_name] == [m1]
    wait_image_status(tea, m1)
    # Still the same id once it is Available.
    assert create_image(tea, InstanceId=ids1[0], ImageName=name, ClientToken=token) == m1


def test_client_token_reuse_with_other_params(tea, system_image):
    """spec §1.7: same token, different parameters → 400 IdempotenceParamNotMatch (CreateImage)."""
    [src] = run_instances(tea, system_image)
    token = unique("tok")
    m1 = create_image(tea, InstanceId=src, ImageName=unique("idem"), ClientToken=token)
    expect_error(lambda: create_image(tea, InstanceId=src, ImageName=unique("other"), ClientToken=token),
                 400, "IdempotenceParamNotMatch")
    wait_image_status(tea, m1)


def test_describe_images_filters_and_paging(tea, system_image):
    prefix = unique("flt")
    family = unique("fam")
    srcs = run_instances(tea, system_image, amount=4)
    ids = [create_image(tea, InstanceId=s, ImageName=f"{prefix}-{n}", ImageFamily=family,
                        Tag=[{"Key": "e2e-suite", "Value": prefix}] if n == 0 else None)
           for n, s in enumerate(srcs[:3])]
    for mid in ids:
        wait_image_status(tea, mid)
    creating = create_image(tea, InstanceId=srcs[3], ImageName=f"{prefix}-creating", ImageFamily=family)

    def find(**kw):
        return tea.call("DescribeImages", RegionId=REGION, **kw)

    # Default Status is Available: the Creating one is hidden.
    body = find(ImageName=prefix)
    assert body["TotalCount"] == 3 and sorted(i["ImageId"] for i in images(body)) == sorted(ids), body
    assert find(ImageName=prefix, Status="Creating")["TotalCount"] == 1
    assert find(ImageName=prefix, Status="Creating,Available")["TotalCount"] == 4
    assert find(ImageName=prefix, Status="ALL")["TotalCount"] == 4
    expect_error(lambda: find(ImageName=prefix, Status="ALL,Available"), 400)

    # Paging: TotalCount is the full match count, pages are disjoint.
    p1 = find(ImageName=prefix, PageSize=2, PageNumber=1)
    p2 = find(ImageName=prefix, PageSize=2, PageNumber=2)
    p3 = find(ImageName=prefix, PageSize=2, PageNumber=3)
    assert (p1["TotalCount"], p1["PageSize"], p1["PageNumber"]) == (3, 2, 1), p1
    assert (p2["TotalCount"], p2["PageNumber"]) == (3, 2), p2
    assert len(images(p1)) == 2 and len(images(p2)) == 1 and images(p3) == []
    assert {i["ImageId"] for i in images(p1) + images(p2)} == set(ids)

    # ImageId (single and comma list), ImageFamily, owner alias.
    assert [i["ImageId"] for i in images(find(ImageId=ids[1]))] == [ids[1]]
    assert sorted(i["ImageId"] for i in images(find(ImageId=f"{ids[0]},{ids[2]}"))) == sorted([ids[0], ids[2]])
    assert find(ImageFamily=family, Status="ALL")["TotalCount"] == 4
    mine = find(ImageOwnerAlias="self", Status="ALL", PageSize=100)
    assert set(ids + [creating]) <= {i["ImageId"] for i in images(mine)}
    assert all(i["ImageOwnerAlias"] == "self" for i in images(mine))
    system = find(ImageOwnerAlias="system", PageSize=100)
    assert system["TotalCount"] >= 1 and all(i["ImageOwnerAlias"] == "system" for i in images(system))
    assert not set(ids) & {i["ImageId"] for i in images(system)}
    assert system_image in {i["ImageId"] for i in images(system)}
    assert find(ImageId=system_image)["TotalCount"] == 1
    linux = find(ImageOwnerAlias="system", OSType="linux", Architecture="x86_64", PageSize=100)
    assert images(linux) and all(i["OSType"] == "linux" and i["Architecture"] == "x86_64" for i in images(linux))
    expect_error(lambda: find(ImageOwnerAlias="nobody"), 400, "InvalidImageOwnerAlias.ValueNotSupported")
    assert find(ImageId="m-doesnotexist0000000")["TotalCount"] == 0

    # Tags given at creation and through TagResources / UntagResources.
    created_tagged = find(Tag=[{"Key": "e2e-suite", "Value": prefix}])
    assert [i["ImageId"] for i in images(created_tagged)] == [ids[0]], created_tagged
    tags0 = images(find(ImageId=ids[0]))[0]["Tags"]["Tag"]
    assert {"TagKey": "e2e-suite", "TagValue": prefix} in tags0, tags0

    tea.call("TagResources", RegionId=REGION, ResourceType="image", ResourceId=[ids[1], ids[2]],
             Tag=[{"Key": "tier", "Value": prefix}])
    tagged = find(Tag=[{"Key": "tier", "Value": prefix}])
    assert sorted(i["ImageId"] for i in images(tagged)) == sorted(ids[1:]), tagged
    listed = tea.call("ListTagResources", RegionId=REGION, ResourceType="image", ResourceId=[ids[1]])
    pairs = {(t["ResourceId"], t["TagKey"], t["TagValue"]) for t in listed["TagResources"]["TagResource"]}
    assert (ids[1], "tier", prefix) in pairs, listed
    tea.call("UntagResources", RegionId=REGION, ResourceType="image", ResourceId=[ids[1]], TagKey=["tier"])
    assert [i["ImageId"] for i in images(find(Tag=[{"Key": "tier", "Value": prefix}]))] == [ids[2]]
    wait_image_status(tea, creating)


def test_modify_image_attribute(tea, system_image):
    [src] = run_instances(tea, system_image)
    image_id = create_image(tea, InstanceId=src)
    wait_image_status(tea, image_id)
    new_name, family = unique("renamed"), unique("fam")
    tea.call("ModifyImageAttribute", RegionId=REGION, ImageId=image_id, ImageName=new_name,
             Description="changed by e2e", ImageFamily=family)
    img = describe_image(tea, image_id)
    assert (img["ImageName"], img["Description"], img["ImageFamily"]) == (new_name, "changed by e2e", family), img
    assert [i["ImageId"] for i in images(tea.call("DescribeImages", RegionId=REGION, ImageName=new_name))] == [image_id]

    tea.call("ModifyImageAttribute", RegionId=REGION, ImageId=image_id, Status="Deprecated")
    assert describe_image(tea, image_id)["Status"] == "Deprecated"
    dep = tea.call("DescribeImages", RegionId=REGION, ImageId=image_id, Status="Deprecated")
    assert [i["ImageId"] for i in images(dep)] == [image_id]
    [launched] = run_instances(tea, image_id)  # deprecated images still launch
    assert describe_instances(tea, [launched])[0]["ImageId"] == image_id
    tea.call("ModifyImageAttribute", RegionId=REGION, ImageId=image_id, Status="Available")
    assert describe_image(tea, image_id)["Status"] == "Available"

    expect_error(lambda: tea.call("ModifyImageAttribute", RegionId=REGION, ImageId="m-doesnotexist0000000",
                                  ImageName=unique("x")), 404, "InvalidImageId.NotFound")


def test_describe_image_from_family_through_both_sdk_generations(ecsim, system_image):
    """The newest Available own image of a family, as one `Image` object; `{}` when none."""
    family = unique("fam")
    tea, classic = ecsim.client("tea-v3"), ecsim.client("classic")
    for c in (tea, classic):
        assert not c.call("DescribeImageFromFamily", RegionId=REGION, ImageFamily=family).get("Image"), c
    [src] = run_instances(tea, system_image)
    first = create_image(tea, InstanceId=src, ImageFamily=family)
    wait_image_status(tea, first)
    second = create_image(tea, InstanceId=src, ImageFamily=family)
    wait_image_status(tea, second)
    for c in (tea, classic):
        image = c.call("DescribeImageFromFamily", RegionId=REGION, ImageFamily=family)["Image"]
        assert image["ImageId"] == second and image["ImageFamily"] == family, image
        assert image["Status"] == "Available" and image["ImageOwnerAlias"] == "self", image
    tea.call("DeleteImage", RegionId=REGION, ImageId=second)
    assert tea.call("DescribeImageFromFamily", RegionId=REGION, ImageFamily=family)["Image"]["ImageId"] == first
