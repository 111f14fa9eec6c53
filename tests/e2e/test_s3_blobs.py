"""Image bytes in an S3-compatible object store (issue 4): `ecsim serve --blob-url s3://...`
against moto's S3 server, driven through the official SDK.

Needs an ecsim built with `--features s3` (scripts/test builds it so) and moto (tests/e2e
requirements). Each test starts its own moto server on a free loopback port.
"""
from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from support import REGION, describe_image, exported_disk, wait_image_status, wait_until
from test_tasks import (BUCKET, SHANGHAI, assert_same_disk, copy_image, export_image, import_image,
                        make_qcow2, qemu_img, sha256, task_of, wait_task_finished)

S3_BUCKET = "ecsim-blobs"
S3_PREFIX = "e2e/blobs"
# A distinctive secret: it must never show up in the server's log.
S3_SECRET = "s3SecretThatMustNeverBeLogged0123456789"
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto_s3(tmp_path):
    """A private moto S3 server with an empty bucket; yields (endpoint, boto3 client)."""
    moto_server = Path(sys.executable).with_name("moto_server")
    if not moto_server.exists():
        pytest.fail(f"moto_server not found beside {sys.executable} (tests/e2e/requirements.txt)")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "moto.log", "wb")
    proc = subprocess.Popen([str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="AKIDTEST", aws_secret_access_key=S3_SECRET)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                s3.create_bucket(Bucket=S3_BUCKET)
                break
            except Exception:  # not listening yet
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield endpoint, s3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def s3_objects(s3) -> dict[str, int]:
    listed = s3.list_objects_v2(Bucket=S3_BUCKET, Prefix=S3_PREFIX + "/")
    return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}


def test_import_copy_export_with_blobs_in_s3(ecsim_factory, tmp_path, moto_s3):
    endpoint, s3 = moto_s3
    oss = tmp_path / "oss"
    bucket = oss / BUCKET
    bucket.mkdir(parents=True)
    srv = ecsim_factory(
        extra_args=("--oss-root", str(oss), "--blob-url", f"s3://{S3_BUCKET}/{S3_PREFIX}"),
        extra_env={"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIDTEST",
                   "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_REGION": "us-east-1"})
    c = srv.client()
    # Larger than one multipart part (16 MiB of data): the upload goes in parts.
    make_qcow2(bucket / "disk.qcow2", 64, random_mib=24)

    image_id, task_id = import_image(c, "disk.qcow2", "QCOW2")
    wait_task_finished(c, task_id)
    wait_image_status(c, image_id, "Available", timeout=60)
    source_key = f"{S3_PREFIX}/{REGION}/{image_id}"
    objects = s3_objects(s3)
    assert objects.get(source_key) == (bucket / "disk.qcow2").stat().st_size, objects
    body = s3.get_object(Bucket=S3_BUCKET, Key=source_key)["Body"].read()
    assert body == (bucket / "disk.qcow2").read_bytes(), "the blob is the imported file, byte for byte"
    assert not (srv.data_dir / "blobs").exists(), "no bytes under the data dir"

    copy_id = copy_image(c, image_id, SHANGHAI)
    wait_task_finished(c, task_of(c, copy_id, SHANGHAI), region=SHANGHAI)
    wait_until(lambda: (describe_image(c, copy_id, SHANGHAI) or {}).get("Status") == "Available",
               timeout=60, what="the copy to become Available")
    copy_key = f"{S3_PREFIX}/{SHANGHAI}/{copy_id}"
    assert s3_objects(s3).get(copy_key) == len(body), s3_objects(s3)

    export_task = export_image(c, copy_id, "qcow2", prefix="out", region=SHANGHAI)
    wait_task_finished(c, export_task, region=SHANGHAI)
    exported = exported_disk(bucket, "out", copy_id, "qcow2")
    assert qemu_img("info", exported).returncode == 0
    assert_same_disk(bucket / "disk.qcow2", "qcow2", exported, "qcow2")
    raw_task = export_image(c, image_id, "raw", prefix="raw")
    wait_task_finished(c, raw_task)
    assert_same_disk(bucket / "disk.qcow2", "qcow2", exported_disk(bucket, "raw", image_id), "raw")

    # Deleting the source frees its object; the copy's stays and still exports.
    c.call("DeleteImage", RegionId=REGION, ImageId=image_id)
    assert describe_image(c, image_id) is None
    objects = s3_objects(s3)
    assert source_key not in objects and copy_key in objects, objects
    assert sha256_of_object(s3, copy_key) == sha256(bucket / "disk.qcow2")

    srv.stop()
    log = srv.log_path.read_text(errors="replace")
    assert S3_SECRET not in log, "the S3 secret leaked into the server log"
    assert "blobs in S3" in log, log[-2000:]


def sha256_of_object(s3, key: str) -> str:
    return hashlib.sha256(s3.get_object(Bucket=S3_BUCKET, Key=key)["Body"].read()).hexdigest()

