"""Shared helpers for the ecsim end-to-end tests.

Three client flavours are wrapped behind one tiny interface, `call(action, **params)`,
taking wire-level parameter names (``RegionId``, ``ImageId``, ``Tag=[{"Key":..,"Value":..}]``)
and returning the decoded response body as a plain dict:

* ``tea-v3``  — alibabacloud_ecs20140526 Client, default ACS3-HMAC-SHA256 signing;
* ``tea-v1``  — the same client with ``signature_algorithm="v2"`` (HMAC-SHA1 RPC);
* ``classic`` — aliyunsdkcore AcsClient + aliyunsdkecs ``*Request`` classes.

The Tea wrappers go through the SDK's typed request/response models (``XxxRequest.from_map``
and ``resp.body.to_map()``), so shape mismatches in server responses surface as SDK errors.
Service errors are re-raised as `ApiError`, carrying the status/code the *SDK* extracted
plus the original SDK exception.
"""
from __future__ import annotations

import atexit
import http.client
import importlib
import json
import re
import shutil
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REGION = "cn-hangzhou"
INSTANCE_TYPE = "ecs.g7.large"
CLIENT_KINDS = ("tea-v3", "tea-v1", "classic")
ERROR_FIELDS = ("RequestId", "HostId", "Code", "Message", "Recommend")


# --------------------------------------------------------------------------- errors


@dataclass
class ApiError(Exception):
    status: int | None
    code: str | None
    message: str | None
    request_id: str | None = None
    data: dict | None = None  # full error body when the SDK keeps it (Tea)
    sdk_exc: BaseException | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.code}: {self.message} (RequestId={self.request_id})"


class ApiCallFailed(AssertionError):
    pass


def expect_error(fn: Callable[[], Any], status: int | None, code: str | None = None) -> ApiError:
    """Run `fn`, require it to raise ApiError with the given status (and code, if given;
    a code ending in '*' is a prefix match). Returns the error for further checks."""
    try:
        result = fn()
    except ApiError as e:
        ok_status = status is None or e.status == status
        if code is None:
            ok_code = True
        elif code.endswith("*"):
            ok_code = (e.code or "").startswith(code[:-1])
        else:
            ok_code = e.code == code
        if not (ok_status and ok_code):
            raise ApiCallFailed(f"expected HTTP {status} {code}, got {e}") from e
        if e.data is not None:
            assert_error_body(e.data)
        return e
    raise ApiCallFailed(f"expected HTTP {status} {code}, but the call succeeded: {result!r}")


def assert_error_body(body: Any) -> None:
    """Every 4xx/5xx body must be JSON with these five string fields."""
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    for name in ERROR_FIELDS:
        assert isinstance(body.get(name), str), f"error body field {name!r} missing or not a string: {body!r}"


# --------------------------------------------------------------------------- polling


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1,
               what: str = "condition") -> Any:
    """Poll `predicate` until it returns a truthy value (returned) or `timeout` seconds pass
    (AssertionError naming `what` and the last value / exception)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except (ApiError, AssertionError) as e:  # keep polling through transient errors
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def unique(prefix: str) -> str:
    """An image/instance name that is valid by ECS rules and unique per test."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------- clients


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class TeaClient:
    def __init__(self, host_port: str, ak: str, secret: str, v1: bool = False,
                 signature_algorithm: str | None = None):
        from alibabacloud_ecs20140526.client import Client
        from alibabacloud_tea_openapi import models as openapi_models

        cfg = openapi_models.Config(
            access_key_id=ak,
            access_key_secret=secret,
            endpoint=host_port,
            protocol="http",
            region_id=REGION,
            connect_timeout=5000,
            read_timeout=20000,
        )
        if v1:
            cfg.signature_algorithm = "v2"  # HMAC-SHA1 RPC signing in this SDK
        elif signature_algorithm:
            cfg.signature_algorithm = signature_algorithm  # e.g. "ACS3-HMAC-SM3"
        self.kind = "tea-v1" if v1 else "tea-v3"
        self.client = Client(cfg)

    def call(self, action: str, **params: Any) -> dict:
        from alibabacloud_ecs20140526 import models as ecs_models
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

        req = getattr(ecs_models, f"{action}Request")().from_map(params)
        method = getattr(self.client, _snake(action))
        try:
            resp = method(req)
        except AlibabaCloudException as e:
            data = e.data if isinstance(e.data, dict) else None
            body = {k: v for k, v in data.items() if k != "statusCode"} if data else None
            raise ApiError(e.status_code, e.code, (data or {}).get("Message"), e.request_id, body, e) from e
        assert 200 <= resp.status_code < 300, f"{action}: unexpected status {resp.status_code}"
        return resp.body.to_map() if resp.body is not None else {}


class ClassicClient:
    def __init__(self, host_port: str, ak: str, secret: str):
        from aliyunsdkcore.client import AcsClient

        self.kind = "classic"
        self.host_port = host_port
        # Default protocol of the classic SDK is plain HTTP (aliyunsdkcore.request).
        self.client = AcsClient(ak, secret, REGION, timeout=20, connect_timeout=5)

    def call(self, action: str, **params: Any) -> dict:
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        mod = importlib.import_module(f"aliyunsdkecs.request.v20140526.{action}Request")
        req = getattr(mod, f"{action}Request")()
        req.set_endpoint(self.host_port)
        for name, value in params.items():
            setter = getattr(req, f"set_{name}", None) or getattr(req, f"set_{name}s", None)
            if setter is not None:
                setter(value)
            else:
                req.add_query_param(name, value)
        try:
            raw = self.client.do_action_with_exception(req)
        except ServerException as e:
            raise ApiError(e.get_http_status(), e.get_error_code(), e.get_error_msg(),
                           e.get_request_id(), None, e) from e
        return json.loads(raw)


def make_client(kind: str, port: int, ak: str, secret: str):
    host_port = f"127.0.0.1:{port}"
    if kind == "tea-v3":
        return TeaClient(host_port, ak, secret)
    if kind == "tea-v1":
        return TeaClient(host_port, ak, secret, v1=True)
    if kind == "classic":
        return ClassicClient(host_port, ak, secret)
    raise ValueError(kind)


# --------------------------------------------------------------------------- domain helpers


def images(body: dict) -> list[dict]:
    return body["Images"]["Image"]


def describe_image(c, image_id: str, region: str = REGION) -> dict | None:
    """The image as DescribeImages(Status=ALL) sees it, or None."""
    found = images(c.call("DescribeImages", RegionId=region, ImageId=image_id, Status="ALL"))
    assert len(found) <= 1, found
    return found[0] if found else None


def pick_system_image(c, region: str = REGION) -> str:
    body = c.call("DescribeImages", RegionId=region, ImageOwnerAlias="system", OSType="linux",
                  Architecture="x86_64", PageSize=100)
    imgs = [i for i in images(body) if i.get("OSType") == "linux" and i.get("Architecture") == "x86_64"]
    assert imgs, f"no linux/x86_64 system image in {region}: {body}"
    return imgs[0]["ImageId"]


def first_zone(c, region: str = REGION) -> str:
    zones = c.call("DescribeZones", RegionId=region)["Zones"]["Zone"]
    assert zones, f"no zones in {region}"
    return zones[0]["ZoneId"]


def run_instances(c, image_id: str, amount: int = 1, **extra: Any) -> list[str]:
    body = c.call("RunInstances", RegionId=REGION, ImageId=image_id, InstanceType=INSTANCE_TYPE,
                  Amount=amount, **extra)
    ids = body["InstanceIdSets"]["InstanceIdSet"]
    assert len(ids) == amount, body
    return ids


def describe_instances(c, instance_ids: list[str]) -> list[dict]:
    body = c.call("DescribeInstances", RegionId=REGION, InstanceIds=json.dumps(instance_ids), PageSize=100)
    return body["Instances"]["Instance"]


def create_image(c, **params: Any) -> str:
    params.setdefault("RegionId", REGION)
    params.setdefault("ImageName", unique("e2e"))
    image_id = c.call("CreateImage", **params)["ImageId"]
    assert isinstance(image_id, str) and image_id.startswith("m-"), image_id
    return image_id


def wait_image_status(c, image_id: str, status: str = "Available", timeout: float = 30.0) -> dict:
    return wait_until(
        lambda: (lambda img: img if img and img["Status"] == status else None)(describe_image(c, image_id)),
        timeout=timeout, what=f"image {image_id} to become {status}")


# --------------------------------------------------------------------------- raw HTTP


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def http_request(port: int, method: str, target: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 15.0) -> RawResponse:
    """Plain HTTP/1.1 to 127.0.0.1:port, never through a proxy."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def export_key(prefix: str, image_id: str, fmt: str = "raw", disk: str = "system") -> str:
    """The object ExportImage writes for one disk, named as ECS names it:
    ``{prefix}_{image}_system.raw.tar.gz`` for RAW (a tar.gz of the disk), ``….{fmt}`` otherwise;
    ``disk`` is ``system`` or ``data_xvdb`` (after the data disk's mount point)."""
    stem = f"{prefix}_{image_id}_{disk}" if prefix else f"{image_id}_{disk}"
    return f"{stem}.raw.tar.gz" if fmt == "raw" else f"{stem}.{fmt}"


_EXTRACTED = Path(tempfile.mkdtemp(prefix="ecsim-e2e-exports-"))
atexit.register(shutil.rmtree, _EXTRACTED, ignore_errors=True)


def exported_disk(bucket: Path, prefix: str, image_id: str, fmt: str = "raw", disk: str = "system") -> Path:
    """The exported disk file: the object itself, or for RAW the archive's one member (named as
    the object without ``.tar.gz``), extracted with Python's tarfile."""
    obj = bucket / export_key(prefix, image_id, fmt, disk)
    if fmt != "raw":
        return obj
    out = Path(tempfile.mkdtemp(dir=_EXTRACTED))
    with tarfile.open(obj, "r:gz") as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == [obj.name.removesuffix(".tar.gz")], [m.name for m in members]
        assert members[0].isfile(), members[0]
        archive.extract(members[0], out, filter="data")
    return out / members[0].name
