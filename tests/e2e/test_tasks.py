"""Real image bytes and long-running tasks through the official SDKs (issue 4; spec
ecs-image-api §3.1 DeleteImage blockers, §3.7–§3.13).

Each test starts a private `ecsim serve --oss-root DIR` (bucket = subdirectory, object key =
relative path); the in-flight tests add `--task-bytes-per-second` so that imports, exports and
copies stay `Processing` long enough to be observed. Test disks are made with `qemu-img`, and
what comes back out of ecsim is checked with `qemu-img info` / `qemu-img compare` / SHA-256.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from support import (CLIENT_KINDS, REGION, describe_image, expect_error, export_key, exported_disk,
                     pick_system_image, run_instances, unique, wait_image_status, wait_until)

SHANGHAI = "cn-shanghai"
BUCKET = "e2e-bucket"
MIB = 1024 * 1024
# Throttled servers: 2 MiB/s. An 8 MiB transfer then takes ~4 s, a 32 MiB one ~16 s.
SLOW_RATE = 2 * MIB
TASK_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\dZ$")  # tasks: minute precision (spec §1.4)
QEMU_FORMAT = {"raw": "raw", "qcow2": "qcow2", "vhd": "vpc", "vmdk": "vmdk"}


# --------------------------------------------------------------------------- disks


def qemu_img(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["qemu-img", *map(str, args)], capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"qemu-img {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr}")
    return r


def qemu_info(path: Path) -> dict:
    return json.loads(qemu_img("info", "--output=json", path).stdout)


def assert_same_disk(a: Path, a_fmt: str, b: Path, b_fmt: str) -> None:
    """Guest-visible content equal (`qemu-img compare` exits 0)."""
    r = qemu_img("compare", "-f", QEMU_FORMAT[a_fmt], "-F", QEMU_FORMAT[b_fmt], a, b, check=False)
    assert r.returncode == 0, f"qemu-img compare {a} {b}: rc={r.returncode} {r.stdout}{r.stderr}"


def make_raw(path: Path, size_mib: int, random_mib: int = 1) -> Path:
    """`qemu-img create -f raw`, then `random_mib` MiB of random bytes from offset 1 MiB."""
    path.parent.mkdir(parents=True, exist_ok=True)
    qemu_img("create", "-q", "-f", "raw", path, f"{size_mib}M")
    with open(path, "r+b") as f:
        f.seek(MIB)
        f.write(os.urandom(random_mib * MIB))
    return path


def make_qcow2(path: Path, size_mib: int, random_mib: int = 1) -> Path:
    raw = make_raw(path.with_name(path.name + ".src.raw"), size_mib, random_mib)
    qemu_img("convert", "-f", "raw", "-O", "qcow2", raw, path)
    raw.unlink()
    return path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- servers


@pytest.fixture
def oss(tmp_path) -> Path:
    root = tmp_path / "oss"
    (root / BUCKET).mkdir(parents=True)
    return root


@pytest.fixture
def bucket(oss) -> Path:
    return oss / BUCKET


def fast_args(oss: Path) -> tuple[str, ...]:
    return ("--oss-root", str(oss))


def slow_args(oss: Path) -> tuple[str, ...]:
    return ("--oss-root", str(oss), "--task-bytes-per-second", str(SLOW_RATE))


@pytest.fixture
def fast(ecsim_factory, oss):
    """An unthrottled server with the OSS root."""
    return ecsim_factory(extra_args=fast_args(oss))


@pytest.fixture
def slow(ecsim_factory, oss):
    """A server whose tasks move SLOW_RATE bytes per second."""
    return ecsim_factory(extra_args=slow_args(oss))


# --------------------------------------------------------------------------- API helpers


def import_image(c, key: str, fmt: str | None = None, region: str = REGION, **extra) -> tuple[str, str]:
    mapping = {"OSSBucket": BUCKET, "OSSObject": key}
    if fmt:
        mapping["Format"] = fmt
    body = c.call("ImportImage", RegionId=region, DiskDeviceMapping=[mapping], **extra)
    assert body["ImageId"].startswith("m-") and body["TaskId"].startswith("t-"), body
    assert body["RegionId"] == region, body
    return body["ImageId"], body["TaskId"]


def export_image(c, image_id: str, fmt: str | None = None, prefix: str | None = None,
                 region: str = REGION) -> str:
    params = {"RegionId": region, "ImageId": image_id, "OSSBucket": BUCKET}
    if fmt:
        params["ImageFormat"] = fmt
    if prefix:
        params["OSSPrefix"] = prefix
    body = c.call("ExportImage", **params)
    assert body["TaskId"].startswith("t-"), body
    return body["TaskId"]


def copy_image(c, image_id: str, destination: str | None = None, **extra) -> str:
    if destination:
        extra["DestinationRegionId"] = destination
    body = c.call("CopyImage", RegionId=REGION, ImageId=image_id, **extra)
    assert body["ImageId"].startswith("m-"), body
    return body["ImageId"]


def task_attr(c, task_id: str, region: str = REGION) -> dict:
    return c.call("DescribeTaskAttribute", RegionId=region, TaskId=task_id)


def listed_task(c, task_id: str, region: str = REGION) -> dict:
    body = c.call("DescribeTasks", RegionId=region, TaskIds=task_id)
    found = body["TaskSet"]["Task"]
    assert len(found) == 1 and body["TotalCount"] == 1, body
    return found[0]


def task_of(c, resource_id: str, region: str) -> str:
    """The task working on a resource (a copy's task lives in the destination region)."""
    found = c.call("DescribeTasks", RegionId=region, ResourceIds=[resource_id])["TaskSet"]["Task"]
    assert len(found) == 1, found
    return found[0]["TaskId"]


def percent(attr: dict) -> int:
    m = re.fullmatch(r"(\d+)%", attr["TaskProcess"])
    assert m, f"TaskProcess is not a percentage: {attr['TaskProcess']!r}"
    return int(m.group(1))


def progress_item(attr: dict) -> dict:
    items = attr["OperationProgressSet"]["OperationProgress"]
    assert len(items) == 1, attr
    return items[0]


def related(attr: dict) -> dict[str, str]:
    return {i["Name"]: i["Value"] for i in progress_item(attr)["RelatedItemSet"]["RelatedItem"]}


def wait_task_done(c, task_id: str, region: str = REGION, timeout: float = 60) -> dict:
    return wait_until(
        lambda: (lambda a: a if a["TaskStatus"] in ("Finished", "Failed") else None)(task_attr(c, task_id, region)),
        timeout=timeout, interval=0.1, what=f"task {task_id} to end")


def wait_task_finished(c, task_id: str, region: str = REGION, timeout: float = 60) -> dict:
    attr = wait_task_done(c, task_id, region, timeout)
    assert attr["TaskStatus"] == "Finished", attr
    return attr


def wait_moving(c, task_id: str, region: str = REGION, timeout: float = 30) -> dict:
    """Until the task is Processing and has moved some bytes (but not all)."""
    def moving():
        a = task_attr(c, task_id, region)
        assert a["TaskStatus"] in ("Waiting", "Processing"), f"task ended too early: {a}"
        return a if a["TaskStatus"] == "Processing" and 0 < percent(a) < 100 else None
    return wait_until(moving, timeout=timeout, interval=0.05, what=f"task {task_id} to be moving bytes")


def assert_cancelled(attr: dict) -> None:
    assert attr["TaskStatus"] == "Failed", attr
    assert progress_item(attr)["ErrorCode"] == "Cancelled", attr
    assert progress_item(attr)["OperationStatus"] == "Failed", attr
    assert attr["SupportCancel"] == "false", attr
    assert TASK_TIME.match(attr["FinishedTime"]), attr


# --------------------------------------------------------------------------- ImportImage


def test_import_qcow2_and_raw_files_become_available(fast, bucket):
    c = fast.client()
    qemu_img("create", "-q", "-f", "qcow2", bucket / "blank.qcow2", "64M")
    make_raw(bucket / "data.raw", 16, random_mib=2)
    qcow_name = unique("imported-qcow2")
    qcow_image, qcow_task = import_image(c, "blank.qcow2", "QCOW2", ImageName=qcow_name,
                                         Platform="Ubuntu", Architecture="x86_64")
    raw_image, raw_task = import_image(c, "data.raw")  # format auto-detected

    for image_id, key, fmt in ((qcow_image, "blank.qcow2", "QCOW2"), (raw_image, "data.raw", "RAW")):
        img = wait_image_status(c, image_id, "Available", timeout=60)
        assert img["ImageOwnerAlias"] == "self" and img["IsCopied"] is False, img
        assert img["Size"] == 1, f"virtual size rounds up to 1 GiB: {img}"
        mapping = img["DiskDeviceMappings"]["DiskDeviceMapping"][0]
        assert (mapping["Format"], mapping["ImportOSSBucket"], mapping["ImportOSSObject"]) == (fmt, BUCKET, key), img
    assert describe_image(c, qcow_image)["ImageName"] == qcow_name
    assert describe_image(c, qcow_image)["Platform"] == "Ubuntu"

    body = c.call("DescribeTasks", RegionId=REGION, TaskIds=f"{qcow_task},{raw_task}")
    assert body["TotalCount"] == 2, body
    for t in body["TaskSet"]["Task"]:
        assert t["TaskAction"] == "ImportImage" and t["TaskStatus"] == "Finished", t
        assert t["SupportCancel"] == "false", t
        assert TASK_TIME.match(t["CreationTime"]) and TASK_TIME.match(t["FinishedTime"]), t
        assert t["ResourceId"] == {qcow_task: qcow_image, raw_task: raw_image}[t["TaskId"]], t
    finished = c.call("DescribeTasks", RegionId=REGION, TaskAction="ImportImage", TaskStatus="Finished")
    assert {t["TaskId"] for t in finished["TaskSet"]["Task"]} == {qcow_task, raw_task}, finished
    by_resource = c.call("DescribeTasks", RegionId=REGION, ResourceIds=[raw_image])
    assert [t["TaskId"] for t in by_resource["TaskSet"]["Task"]] == [raw_task], by_resource

    attr = task_attr(c, raw_task)
    assert (attr["TaskId"], attr["TaskAction"], attr["TaskStatus"]) == (raw_task, "ImportImage", "Finished"), attr
    assert attr["TaskProcess"] == "100%" and attr["SuccessCount"] == 1 and attr["FailedCount"] == 0, attr
    assert progress_item(attr)["OperationStatus"] == "Success", attr
    assert related(attr)["OSSBucket"] == BUCKET and related(attr)["OSSObject"] == "data.raw", attr

    # What was imported is what comes back out.
    qcow_out = export_image(c, qcow_image, "raw", prefix="q")
    raw_out = export_image(c, raw_image, "raw", prefix="r")
    wait_task_finished(c, qcow_out)
    wait_task_finished(c, raw_out)
    assert_same_disk(bucket / "blank.qcow2", "qcow2", exported_disk(bucket, "q", qcow_image), "raw")
    assert sha256(exported_disk(bucket, "r", raw_image)) == sha256(bucket / "data.raw")


def test_import_with_a_data_disk_stores_both_disks_bytes_and_delete_frees_them(fast, bucket):
    c = fast.client()
    make_raw(bucket / "system.raw", 8, random_mib=2)
    make_qcow2(bucket / "data.qcow2", 16, random_mib=3)
    body = c.call("ImportImage", RegionId=REGION, DiskDeviceMapping=[
        {"OSSBucket": BUCKET, "OSSObject": "system.raw"},
        {"OSSBucket": BUCKET, "OSSObject": "data.qcow2", "Format": "QCOW2"},
    ])
    image_id = body["ImageId"]
    wait_task_finished(c, body["TaskId"])
    img = wait_image_status(c, image_id, "Available", timeout=60)
    mappings = img["DiskDeviceMappings"]["DiskDeviceMapping"]
    assert [(m["Type"], m["Format"], m["ImportOSSObject"], m["Progress"]) for m in mappings] == [
        ("system", "RAW", "system.raw", "100%"),
        ("data", "QCOW2", "data.qcow2", "100%"),
    ], img
    # Each disk's bytes are stored as they were in OSS.
    blobs = fast.data_dir / "blobs" / REGION
    assert sha256(blobs / image_id) == sha256(bucket / "system.raw")
    assert sha256(blobs / f"{image_id}.disk1") == sha256(bucket / "data.qcow2")
    # ExportImage writes one object per disk, the data disk's named after its mount point.
    attr = wait_task_finished(c, export_image(c, image_id, prefix="bak"))
    objects = [i["Value"] for i in progress_item(attr)["RelatedItemSet"]["RelatedItem"] if i["Name"] == "OSSObject"]
    assert objects == [export_key("bak", image_id), export_key("bak", image_id, disk="data_xvdb")], attr
    assert sha256(exported_disk(bucket, "bak", image_id)) == sha256(bucket / "system.raw")
    assert_same_disk(bucket / "data.qcow2", "qcow2", exported_disk(bucket, "bak", image_id, disk="data_xvdb"), "raw")
    c.call("DeleteImage", RegionId=REGION, ImageId=image_id)
    assert not (blobs / image_id).exists() and not (blobs / f"{image_id}.disk1").exists()


@pytest.mark.parametrize("kind", [k for k in CLIENT_KINDS if k != "tea-v3"])
def test_import_through_the_other_sdk_flavours(ecsim_factory, oss, bucket, kind):
    srv = ecsim_factory(extra_args=fast_args(oss))
    c = srv.client(kind)
    make_raw(bucket / "disk.raw", 4)
    image_id, task_id = import_image(c, "disk.raw", "RAW")
    wait_image_status(c, image_id, "Available", timeout=60)
    attr = task_attr(c, task_id)
    assert attr["TaskStatus"] == "Finished" and attr["TaskProcess"] == "100%", attr


def test_import_progress_is_observable_until_finished(slow, bucket):
    c = slow.client()
    make_raw(bucket / "disk.raw", 8, random_mib=4)  # ~4 s at 2 MiB/s
    image_id, task_id = import_image(c, "disk.raw", "RAW")
    seen: list[tuple[str, int, str]] = []

    def finished():
        attr = task_attr(c, task_id)
        listed = listed_task(c, task_id)
        img = describe_image(c, image_id)
        seen.append((listed["TaskStatus"], percent(attr), img["Status"]))
        return attr if attr["TaskStatus"] == "Finished" else None

    attr = wait_until(finished, timeout=60, interval=0.2, what="the throttled import to finish")
    assert attr["TaskProcess"] == "100%" and TASK_TIME.match(attr["FinishedTime"]), attr
    moving = [s for s in seen if s[0] == "Processing" and 0 < s[1] < 100]
    assert moving, f"never saw the import Processing part-way: {seen}"
    assert all(img_status in ("Waiting", "Creating") for _, _, img_status in moving), seen
    percents = [p for status, p, _ in seen if status in ("Waiting", "Processing")]
    assert percents == sorted(percents), f"progress went backwards: {seen}"
    assert describe_image(c, image_id)["Status"] == "Available"


def test_delete_during_import_is_refused_and_cancel_task_removes_the_image(slow, bucket):
    c = slow.client()
    make_raw(bucket / "big.raw", 32, random_mib=2)  # ~16 s at 2 MiB/s
    make_raw(bucket / "small.raw", 1)
    image_id, task_id = import_image(c, "big.raw")
    try:
        wait_moving(c, task_id)
        for force in (False, True):
            e = expect_error(lambda: c.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=force),
                             403, "ImageIsImporting")
            assert e.message == "The specified Image is importing.", e
        assert describe_image(c, image_id)["Status"] == "Creating"
        processing = c.call("DescribeTasks", RegionId=REGION, TaskStatus="Processing")["TaskSet"]["Task"]
        assert [(t["TaskId"], t["SupportCancel"]) for t in processing] == [(task_id, "true")], processing
    finally:
        c.call("CancelTask", RegionId=REGION, TaskId=task_id)
    assert_cancelled(task_attr(c, task_id))
    assert describe_image(c, image_id) is None, "a cancelled import's image disappears"
    assert listed_task(c, task_id)["TaskStatus"] == "Failed"
    expect_error(lambda: c.call("CancelTask", RegionId=REGION, TaskId=task_id),
                 403, "InvalidTaskId.IncorrectTaskStatus")
    # The workers go on with other work; the cancelled task stays cancelled.
    other_image, other_task = import_image(c, "small.raw")
    wait_task_finished(c, other_task)
    wait_image_status(c, other_image, "Available")
    assert_cancelled(task_attr(c, task_id))
    assert describe_image(c, image_id) is None


def test_a_qcow2_with_a_backing_file_is_refused(fast, bucket):
    c = fast.client()
    qemu_img("create", "-q", "-f", "qcow2", bucket / "base.qcow2", "16M")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", bucket / "top.qcow2")
    # A backing file outside the bucket: the import must never read it.
    qemu_img("create", "-q", "-u", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw",
             bucket / "escape.qcow2", "1M")
    for key, fmt in (("top.qcow2", "QCOW2"), ("escape.qcow2", None)):
        image_id, task_id = import_image(c, key, fmt)
        attr = wait_task_done(c, task_id)
        assert attr["TaskStatus"] == "Failed", attr
        item = progress_item(attr)
        assert item["OperationStatus"] == "Failed" and item["ErrorCode"], attr
        assert "backing file" in item["ErrorMsg"].lower(), attr
        assert attr["FailedCount"] == 1 and TASK_TIME.match(attr["FinishedTime"]), attr
        assert listed_task(c, task_id)["TaskStatus"] == "Failed"
        assert describe_image(c, image_id)["Status"] == "CreateFailed"
        c.call("DeleteImage", RegionId=REGION, ImageId=image_id)  # a failed import is deletable
        assert describe_image(c, image_id) is None
    # The base alone is a fine image.
    image_id, _ = import_image(c, "base.qcow2", "QCOW2")
    wait_image_status(c, image_id, "Available", timeout=60)


@pytest.mark.parametrize("variant", [
    "vhd-dynamic",
    "vhd-fixed",
    "vmdk-sparse",
    "vmdk-stream",
])
def test_import_vhd_and_vmdk_round_trip(fast, bucket, variant):
    c = fast.client()
    raw = make_raw(bucket / "src.raw", 16, random_mib=2)
    fmt, sub = variant.split("-")
    options = {"vhd-dynamic": "subformat=dynamic,force_size=on", "vhd-fixed": "subformat=fixed,force_size=on",
               "vmdk-sparse": "subformat=monolithicSparse", "vmdk-stream": "subformat=streamOptimized"}[variant]
    disk = bucket / f"disk.{fmt}"
    qemu_img("convert", "-f", "raw", "-O", QEMU_FORMAT[fmt], "-o", options, raw, disk)
    image_id, task_id = import_image(c, disk.name, fmt.upper())
    wait_task_finished(c, task_id)
    img = wait_image_status(c, image_id, "Available")
    assert img["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Format"] == fmt.upper(), img
    wait_task_finished(c, export_image(c, image_id, "raw"))
    assert sha256(exported_disk(bucket, "", image_id)) == sha256(raw)


def test_hostile_disk_files_fail_their_import_cleanly(fast, bucket, tmp_path):
    c = fast.client()
    secret = tmp_path / "secret.raw"
    secret.write_bytes(b"top secret" * 1000)
    # qcow2 with an external data file, and a VMDK descriptor whose extent is outside the bucket.
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={secret},data_file_raw=on",
             bucket / "datafile.qcow2", "1M", check=False)
    if not (bucket / "datafile.qcow2").exists():
        qemu_img("create", "-q", "-f", "qcow2", "-o", "data_file=data.bin", bucket / "datafile.qcow2", "1M")
    (bucket / "descriptor.vmdk").write_text(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicFlat"\n\n# Extent description\n'
        f'RW 20 FLAT "{secret}" 0\n\n# The Disk Data Base\n#DDB\n\n'
        'ddb.virtualHWVersion = "4"\nddb.geometry.cylinders = "0"\n'
        'ddb.geometry.heads = "16"\nddb.geometry.sectors = "63"\nddb.adapterType = "ide"\n')
    (bucket / "garbage.qcow2").write_bytes(b"QFI\xfb" + os.urandom(4096))
    for key, fmt in (("datafile.qcow2", None), ("descriptor.vmdk", "VMDK"), ("descriptor.vmdk", None),
                     ("garbage.qcow2", "QCOW2")):
        image_id, task_id = import_image(c, key, fmt)
        attr = wait_task_done(c, task_id)
        assert attr["TaskStatus"] == "Failed", (key, fmt, attr)
        assert progress_item(attr)["ErrorMsg"], attr
        assert describe_image(c, image_id)["Status"] == "CreateFailed", (key, fmt)
    # None of them made the secret readable through an export of anything.
    assert not any(b"top secret" in p.read_bytes() for p in bucket.iterdir()
                   if p.is_file() and p.name.endswith(".raw"))


def test_a_failed_import_does_not_reveal_server_paths(fast, bucket):
    c = fast.client()
    (bucket / "garbage.qcow2").write_bytes(b"QFI\xfb" + os.urandom(4096))
    _, task_id = import_image(c, "garbage.qcow2", "QCOW2")
    attr = wait_task_done(c, task_id)
    assert attr["TaskStatus"] == "Failed", attr
    message = progress_item(attr)["ErrorMsg"]
    assert message and str(fast.data_dir) not in message and "/blobs/" not in message, message


def test_import_and_export_request_errors(fast, bucket):
    c = fast.client()
    make_raw(bucket / "disk.raw", 2)
    missing_bucket = expect_error(lambda: c.call("ImportImage", RegionId=REGION, DiskDeviceMapping=[
        {"OSSBucket": "no-such-bucket", "OSSObject": "disk.raw"}]), 400, "InvalidOSSBucket.NotFound")
    assert missing_bucket.message == "The specified OSS bucket does not exist in this region."
    missing_object = expect_error(lambda: c.call("ImportImage", RegionId=REGION, DiskDeviceMapping=[
        {"OSSBucket": BUCKET, "OSSObject": "no-such.raw"}]), 400, "InvalidOSSObject.NotFound")
    assert missing_object.message == "The specified OSS object does not exist in this region."
    expect_error(lambda: c.call("ImportImage", RegionId=REGION, DiskDeviceMapping=[
        {"OSSBucket": BUCKET, "OSSObject": "../oss/e2e-bucket/disk.raw"}]), 400, "InvalidOSSObject.NotFound")
    bad_format = expect_error(lambda: c.call("ImportImage", RegionId=REGION, DiskDeviceMapping=[
        {"OSSBucket": BUCKET, "OSSObject": "disk.raw", "Format": "ISO"}]), 400, "InvalidImageFormat.Malformed")
    assert bad_format.message == "The specified Image Format is wrongly formed."
    expect_error(lambda: c.call("ImportImage", RegionId=REGION, DiskDeviceMapping=[{"OSSObject": "disk.raw"}]),
                 400, "MissingParameter")
    assert c.call("DescribeTasks", RegionId=REGION)["TotalCount"] == 0, "refused imports leave no task"

    # A declared format that is not the file's: the task fails, the image is CreateFailed.
    image_id, task_id = import_image(c, "disk.raw", "QCOW2")
    attr = wait_task_done(c, task_id)
    assert attr["TaskStatus"] == "Failed" and progress_item(attr)["ErrorCode"] == "InvalidImageFormat.Malformed", attr
    assert describe_image(c, image_id)["Status"] == "CreateFailed"
    expect_error(lambda: c.call("ExportImage", RegionId=REGION, ImageId=image_id, OSSBucket=BUCKET),
                 400, "IncorrectImageStatus")

    image_id, task_id = import_image(c, "disk.raw", "RAW")
    wait_task_finished(c, task_id)
    expect_error(lambda: c.call("ExportImage", RegionId=REGION, ImageId=image_id, OSSBucket="no-such-bucket"),
                 400, "InvalidOSSBucket.NotFound")
    expect_error(lambda: c.call("ExportImage", RegionId=REGION, ImageId=image_id, OSSBucket=BUCKET,
                                ImageFormat="iso"), 400, "InvalidImageFormat.Malformed")
    expect_error(lambda: c.call("ExportImage", RegionId=REGION, ImageId=image_id, OSSBucket=BUCKET,
                                OSSPrefix="not/a-prefix"), 400, "InvalidOSSPrefix.Malformed")
    expect_error(lambda: c.call("ExportImage", RegionId=REGION, ImageId="m-bp1aaaaaaaaaaaaaaaaa",
                                OSSBucket=BUCKET), 404, "InvalidImageId.NotFound")
    expect_error(lambda: c.call("DescribeTaskAttribute", RegionId=REGION, TaskId="t-bp1aaaaaaaaaaaaaaaaa"),
                 400, "InvalidTaskId.NotFound")
    expect_error(lambda: c.call("CancelTask", RegionId=REGION, TaskId="t-bp1aaaaaaaaaaaaaaaaa"),
                 400, "InvalidTaskId.NotFound")
    expect_error(lambda: c.call("CancelTask", RegionId=REGION, TaskId=task_id),
                 403, "InvalidTaskId.IncorrectTaskStatus")


# --------------------------------------------------------------------------- ExportImage


@pytest.mark.parametrize("fmt", ["raw", "qcow2", "vhd", "vmdk"])
def test_export_formats_pass_qemu_img_info_and_compare(fast, bucket, fmt):
    c = fast.client()
    source = make_qcow2(bucket / "source.qcow2", 16, random_mib=2)
    image_id, task_id = import_image(c, "source.qcow2", "QCOW2")
    wait_task_finished(c, task_id)
    export_task = export_image(c, image_id, fmt, prefix="exp")
    attr = wait_task_finished(c, export_task)
    key = export_key("exp", image_id, fmt)
    assert related(attr) == {"OSSBucket": BUCKET, "OSSObject": key, "ImageFormat": fmt.upper()}, attr
    assert attr["TaskAction"] == "ExportImage" and attr["TaskProcess"] == "100%", attr
    assert (bucket / key).is_file(), sorted(p.name for p in bucket.iterdir())
    out = exported_disk(bucket, "exp", image_id, fmt)
    info = qemu_info(out)
    assert info["format"] == QEMU_FORMAT[fmt], info
    assert info["virtual-size"] == 16 * MIB, info
    assert_same_disk(source, "qcow2", out, fmt)
    # The image is still Available and exportable again (the lock ended with the task).
    assert describe_image(c, image_id)["Status"] == "Available"
    wait_task_finished(c, export_image(c, image_id))  # default format: raw
    assert_same_disk(source, "qcow2", exported_disk(bucket, "", image_id), "raw")


def test_export_in_flight_blocks_delete_and_a_second_export_until_cancelled(slow, bucket):
    c = slow.client()
    make_qcow2(bucket / "source.qcow2", 32, random_mib=1)  # small file, 32 MiB raw export (~16 s)
    image_id, import_task = import_image(c, "source.qcow2")
    wait_task_finished(c, import_task)
    task_id = export_image(c, image_id, "raw")
    try:
        wait_moving(c, task_id)
        for force in (False, True):
            e = expect_error(lambda: c.call("DeleteImage", RegionId=REGION, ImageId=image_id, Force=force),
                             403, "ImageIsExporting")
            assert "being exported" in e.message, e
        for fmt in ("raw", "qcow2"):
            expect_error(lambda: c.call("ExportImage", RegionId=REGION, ImageId=image_id, OSSBucket=BUCKET,
                                        ImageFormat=fmt), 403, "ImageIsExporting")
        assert describe_image(c, image_id)["Status"] == "Available", "an exported image stays Available"
        assert listed_task(c, task_id)["SupportCancel"] == "true"
    finally:
        c.call("CancelTask", RegionId=REGION, TaskId=task_id)
    assert_cancelled(task_attr(c, task_id))
    assert describe_image(c, image_id)["Status"] == "Available"
    # No export object, and no half-written temporary file, is left in the bucket.
    wait_until(lambda: sorted(p.name for p in bucket.rglob("*")) == ["source.qcow2"], timeout=10,
               what="the bucket to hold only the source object")
    expect_error(lambda: c.call("CancelTask", RegionId=REGION, TaskId=task_id),
                 403, "InvalidTaskId.IncorrectTaskStatus")
    c.call("DeleteImage", RegionId=REGION, ImageId=image_id)
    assert describe_image(c, image_id) is None


# --------------------------------------------------------------------------- CopyImage


def test_copy_to_shanghai_has_identical_bytes_and_is_independent(fast, bucket):
    c = fast.client()
    source = make_qcow2(bucket / "source.qcow2", 16, random_mib=3)
    image_id, task_id = import_image(c, "source.qcow2")
    wait_task_finished(c, task_id)
    name = unique("copy")
    copy_id = copy_image(c, image_id, SHANGHAI, DestinationImageName=name,
                         DestinationDescription="copied by e2e", Tag=[{"Key": "team", "Value": "e2e"}])
    copy = wait_image_status_in(c, copy_id, SHANGHAI, "Available")
    assert copy["IsCopied"] is True and copy["ImageName"] == name, copy
    assert copy["Description"] == "copied by e2e", copy
    assert describe_image(c, copy_id) is None, "the copy lives in cn-shanghai only"
    copy_task = task_of(c, copy_id, SHANGHAI)
    attr = task_attr(c, copy_task, SHANGHAI)
    assert attr["TaskStatus"] == "Finished" and attr["TaskProcess"] == "100%", attr

    # Byte for byte: export both as raw and compare.
    wait_task_finished(c, export_image(c, image_id, "raw", prefix="src"))
    wait_task_finished(c, export_image(c, copy_id, "raw", prefix="cpy", region=SHANGHAI), SHANGHAI)
    src_raw, copy_raw = exported_disk(bucket, "src", image_id), exported_disk(bucket, "cpy", copy_id)
    assert sha256(src_raw) == sha256(copy_raw)
    assert_same_disk(source, "qcow2", copy_raw, "raw")

    # CancelCopyImage: a finished copy, and an image that is no copy.
    e = expect_error(lambda: c.call("CancelCopyImage", RegionId=SHANGHAI, ImageId=copy_id), 400, "IncorrectImageStatus")
    assert e.message == "The image copy has completed.", e
    expect_error(lambda: c.call("CancelCopyImage", RegionId=REGION, ImageId=image_id), 400, "ImageCreatedNotFromCopy")

    # Independent: deleting the source leaves the copy and its bytes.
    c.call("DeleteImage", RegionId=REGION, ImageId=image_id)
    assert describe_image(c, image_id) is None
    assert describe_image(c, copy_id, SHANGHAI)["Status"] == "Available"
    wait_task_finished(c, export_image(c, copy_id, "qcow2", prefix="again", region=SHANGHAI), SHANGHAI)
    assert_same_disk(source, "qcow2", exported_disk(bucket, "again", copy_id, "qcow2"), "qcow2")

    # A copy without DestinationRegionId stays in the source region.
    second_id, second_task = import_image(c, "source.qcow2")
    wait_task_finished(c, second_task)
    local_copy = copy_image(c, second_id)
    img = wait_image_status(c, local_copy, "Available", timeout=60)
    assert img["IsCopied"] is True, img
    c.call("DeleteImage", RegionId=REGION, ImageId=local_copy)
    assert describe_image(c, second_id)["Status"] == "Available", "deleting a copy leaves its source"


def wait_image_status_in(c, image_id: str, region: str, status: str, timeout: float = 60) -> dict:
    return wait_until(
        lambda: (lambda img: img if img and img["Status"] == status else None)(describe_image(c, image_id, region)),
        timeout=timeout, what=f"image {image_id} in {region} to become {status}")


def instance_image(c) -> str:
    """An Available custom image made by CreateImage (its disk is a real 8 MiB file)."""
    [instance] = run_instances(c, pick_system_image(c))
    image_id = c.call("CreateImage", RegionId=REGION, InstanceId=instance, ImageName=unique("src"))["ImageId"]
    wait_image_status(c, image_id, "Available", timeout=60)
    return image_id


def test_copy_in_progress_blocks_delete_and_cancel_copy_image_removes_it(slow):
    c = slow.client()
    source = instance_image(c)  # 8 MiB: a copy takes ~4 s at 2 MiB/s
    first = copy_image(c, source, SHANGHAI)
    first_task = task_of(c, first, SHANGHAI)
    wait_moving(c, first_task, SHANGHAI)
    img = describe_image(c, first, SHANGHAI)
    assert img["Status"] == "Creating" and img["IsCopied"] is True, img
    for force in (False, True):
        expect_error(lambda: c.call("DeleteImage", RegionId=SHANGHAI, ImageId=first, Force=force),
                     403, "OperationDenied.ImageCopying")
    expect_error(lambda: copy_image(c, source, SHANGHAI), 400, "OperationDenied.ImageCopyConflict")
    expect_error(lambda: c.call("CancelTask", RegionId=SHANGHAI, TaskId=first_task),
                 403, "InvalidTaskId.TaskActionNotSupport")
    wait_image_status_in(c, first, SHANGHAI, "Available")
    e = expect_error(lambda: c.call("CancelCopyImage", RegionId=SHANGHAI, ImageId=first), 400, "IncorrectImageStatus")
    assert e.message == "The image copy has completed.", e

    second = copy_image(c, source, SHANGHAI)
    second_task = task_of(c, second, SHANGHAI)
    wait_moving(c, second_task, SHANGHAI)
    c.call("CancelCopyImage", RegionId=SHANGHAI, ImageId=second)
    assert describe_image(c, second, SHANGHAI) is None, "a cancelled copy disappears"
    listed = c.call("DescribeImages", RegionId=SHANGHAI, Status="ALL", PageSize=100)["Images"]["Image"]
    assert second not in [i["ImageId"] for i in listed]
    assert_cancelled(task_attr(c, second_task, SHANGHAI))
    expect_error(lambda: c.call("CancelCopyImage", RegionId=SHANGHAI, ImageId=second), 404, "InvalidImageId.NotFound")
    assert describe_image(c, first, SHANGHAI)["Status"] == "Available"
    assert describe_image(c, source)["Status"] == "Available"
    # The workers are free again: a third copy runs to the end, even though its source is
    # deleted while it runs (copies and sources are independent).
    third = copy_image(c, source, SHANGHAI)
    wait_moving(c, task_of(c, third, SHANGHAI), SHANGHAI)
    c.call("DeleteImage", RegionId=REGION, ImageId=source)
    assert describe_image(c, source) is None
    wait_image_status_in(c, third, SHANGHAI, "Available")


def test_an_image_in_progress_does_not_claim_100_percent(slow, bucket):
    c = slow.client()
    make_raw(bucket / "big.raw", 32, random_mib=1)
    image_id, task_id = import_image(c, "big.raw")
    try:
        wait_moving(c, task_id)
        img = describe_image(c, image_id)
        assert img["Status"] in ("Waiting", "Creating"), img
        mapping = img["DiskDeviceMappings"]["DiskDeviceMapping"][0]
        assert img["Progress"] != "100%" and mapping["Progress"] != "100%", img
    finally:
        c.call("CancelTask", RegionId=REGION, TaskId=task_id)


# --------------------------------------------------------------------------- restarts


def test_kill_mid_copy_then_restart_finishes_or_fails_cleanly(ecsim_factory, oss, bucket):
    srv = ecsim_factory(extra_args=slow_args(oss))
    c = srv.client()
    source = instance_image(c)
    copy_id = copy_image(c, source, SHANGHAI)
    task_id = task_of(c, copy_id, SHANGHAI)
    wait_moving(c, task_id, SHANGHAI)
    srv.stop(signal.SIGKILL)
    srv.start()
    c = srv.client()
    final = wait_until(
        lambda: (lambda img: img if img and img["Status"] not in ("Creating", "Waiting") else None)(
            describe_image(c, copy_id, SHANGHAI)),
        timeout=60, what="the interrupted copy to finish or fail")
    attr = wait_task_done(c, task_id, SHANGHAI, timeout=30)
    if final["Status"] == "Available":
        assert attr["TaskStatus"] == "Finished", attr
        # The redone copy has the source's bytes (checked unthrottled, after one more restart).
        srv.stop()
        srv.extra_args = list(fast_args(oss))
        srv.start()
        c = srv.client()
        wait_task_finished(c, export_image(c, source, "raw", prefix="src"))
        wait_task_finished(c, export_image(c, copy_id, "raw", prefix="cpy", region=SHANGHAI), SHANGHAI)
        assert sha256(exported_disk(bucket, "src", source)) == sha256(exported_disk(bucket, "cpy", copy_id))
    else:
        assert final["Status"] == "CreateFailed", final
        assert attr["TaskStatus"] == "Failed" and progress_item(attr)["ErrorMsg"], attr
    assert describe_image(c, source)["Status"] == "Available"


def test_kill_mid_import_then_restart_finishes_or_fails_cleanly(ecsim_factory, oss, bucket):
    srv = ecsim_factory(extra_args=slow_args(oss))
    c = srv.client()
    disk = make_raw(bucket / "disk.raw", 8, random_mib=4)
    image_id, task_id = import_image(c, "disk.raw")
    wait_moving(c, task_id)
    srv.stop(signal.SIGKILL)
    srv.start()
    c = srv.client()
    final = wait_until(
        lambda: (lambda img: img if img and img["Status"] not in ("Creating", "Waiting") else None)(
            describe_image(c, image_id)),
        timeout=60, what="the interrupted import to finish or fail")
    attr = wait_task_done(c, task_id, timeout=30)
    if final["Status"] == "Available":
        assert attr["TaskStatus"] == "Finished", attr
        wait_task_finished(c, export_image(c, image_id, "raw"))
        assert sha256(exported_disk(bucket, "", image_id)) == sha256(disk)
    else:
        assert final["Status"] == "CreateFailed", final
        assert attr["TaskStatus"] == "Failed" and progress_item(attr)["ErrorMsg"], attr


def test_kill_mid_export_then_restart_leaves_only_the_finished_object(ecsim_factory, oss, bucket):
    srv = ecsim_factory(extra_args=slow_args(oss))
    c = srv.client()
    source = make_qcow2(bucket / "source.qcow2", 16, random_mib=1)
    image_id, import_task = import_image(c, "source.qcow2")
    wait_task_finished(c, import_task)
    task_id = export_image(c, image_id, "raw")
    wait_moving(c, task_id)
    srv.stop(signal.SIGKILL)
    srv.start()
    c = srv.client()
    attr = wait_task_done(c, task_id, timeout=60)
    assert describe_image(c, image_id)["Status"] == "Available"
    expected = ["source.qcow2"]
    if attr["TaskStatus"] == "Finished":
        expected.append(export_key("", image_id))
        assert_same_disk(source, "qcow2", exported_disk(bucket, "", image_id), "raw")
    else:
        assert progress_item(attr)["ErrorMsg"], attr
    # Whatever the outcome, the bucket holds no half-written file of the killed attempt.
    assert sorted(p.name for p in bucket.rglob("*")) == sorted(expected)


def test_a_task_runs_on_one_worker_at_a_time_even_with_a_short_lease(ecsim_factory, oss, bucket):
    srv = ecsim_factory(extra_args=(*slow_args(oss), "--task-lease-ms", "100"))
    c = srv.client()
    make_raw(bucket / "disk.raw", 12, random_mib=2)  # ~6 s at 2 MiB/s
    image_id, task_id = import_image(c, "disk.raw")
    seen: list[int] = []

    def done():
        attr = task_attr(c, task_id)
        seen.append(percent(attr))
        return attr if attr["TaskStatus"] in ("Finished", "Failed") else None

    attr = wait_until(done, timeout=60, interval=0.05, what="the import to end")
    assert attr["TaskStatus"] == "Finished", attr
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    assert srv.log_tail(400).count(f"task started task={task_id}") == 1, srv.log_tail(40)
