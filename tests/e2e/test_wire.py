"""Gateway-level behaviour with hand-signed raw requests (tests/e2e/signer.py)."""
from __future__ import annotations

import socket
import xml.etree.ElementTree as ET

import pytest

import signer
from support import (REGION, RawResponse, TeaClient, assert_error_body, create_image, describe_image, expect_error,
                     http_request, run_instances, wait_image_status)


def v1_call(ecsim, action: str, params: dict | None = None, *, method: str = "POST", ak: str | None = None,
            secret: str | None = None, tamper=None, **v1_kwargs) -> RawResponse:
    p = signer.v1_params(action, ak or ecsim.ak, params, **v1_kwargs)
    signed = signer.v1_sign(secret or ecsim.secret, method, p)
    if tamper:
        tamper(signed)
    return http_request(ecsim.port, method, "/?" + signer.encode_params(signed),
                        headers={"x-acs-action": action, "x-acs-version": v1_kwargs.get("version", signer.API_VERSION)})


def assert_json_error(r: RawResponse, status: int, code: str | None = None) -> dict:
    assert r.status == status, f"expected HTTP {status} {code}, got {r.status}: {r.body[:500]!r}"
    assert r.content_type.startswith("application/json"), r.headers
    body = r.json()
    assert_error_body(body)
    if code is not None:
        assert body["Code"] == code, body
    assert code is None or code in body["Recommend"] or body["Recommend"].startswith("http"), body
    return body


def test_signed_raw_v1_works_get_and_post(ecsim):
    for method in ("GET", "POST"):
        r = v1_call(ecsim, "DescribeRegions", method=method)
        assert r.status == 200, r
        assert r.content_type.startswith("application/json"), r.headers
        body = r.json()
        assert "Code" not in body and body["RequestId"], body
        assert r.headers.get("x-acs-request-id") == body["RequestId"], r.headers


def test_signed_raw_v1_form_body(ecsim):
    p = signer.v1_sign(ecsim.secret, "POST", signer.v1_params("DescribeImages", ecsim.ak,
                                                               {"RegionId": REGION, "PageSize": "1"}))
    r = http_request(ecsim.port, "POST", "/", body=signer.encode_params(p).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r
    assert r.json()["PageSize"] == 1


def test_signed_raw_v3_works(ecsim):
    query = {"RegionId": REGION, "ImageOwnerAlias": "system", "PageSize": "1"}
    headers = signer.v3_headers(ecsim.ak, ecsim.secret, "DescribeImages", f"127.0.0.1:{ecsim.port}", query)
    r = http_request(ecsim.port, "POST", "/?" + signer.encode_params(query), headers=headers)
    assert r.status == 200, r
    assert r.json()["Images"]["Image"][0]["ImageOwnerAlias"] == "system"


def test_pop_core_style_get_with_lowercase_booleans(ecsim, tea, system_image):
    """Node pop-core sends GET, `Force=true`, legacy clients `Tag.N.key`: all accepted."""
    tag_value = signer.nonce()
    [src] = run_instances(tea, system_image)
    image_id = create_image(tea, InstanceId=src, Tag=[{"Key": "legacy", "Value": tag_value}])
    wait_image_status(tea, image_id)
    run_instances(tea, image_id)
    r = v1_call(ecsim, "DescribeImages", {"RegionId": REGION, "Tag.1.key": "legacy", "Tag.1.value": tag_value},
                method="GET")
    assert r.status == 200, r
    assert [i["ImageId"] for i in r.json()["Images"]["Image"]] == [image_id]
    r = v1_call(ecsim, "DeleteImage", {"RegionId": REGION, "ImageId": image_id, "Force": "false"}, method="GET")
    assert_json_error(r, 403, "ImageUsingByInstance")
    r = v1_call(ecsim, "DeleteImage", {"RegionId": REGION, "ImageId": image_id, "Force": "true"}, method="GET")
    assert r.status == 200, r
    assert describe_image(tea, image_id) is None


def test_sm3_signing(ecsim):
    """Tea's ACS3-HMAC-SM3 (spec/wire-protocol.md §4.2)."""
    c = TeaClient(f"127.0.0.1:{ecsim.port}", ecsim.ak, ecsim.secret, signature_algorithm="ACS3-HMAC-SM3")
    assert c.call("DescribeRegions")["Regions"]["Region"]


def test_bad_signature(ecsim):
    def garble(p):
        p["Signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="

    r = v1_call(ecsim, "DescribeRegions", tamper=garble)
    body = assert_json_error(r, 400, "SignatureDoesNotMatch")
    # The classic SDK splits on ':' and compares the server's string to sign with its own.
    marker = "server string to sign is:"
    assert marker in body["Message"], body
    server_sts = body["Message"].split(marker, 1)[1]
    assert server_sts.startswith("POST&%2F&") and "Action%3DDescribeRegions" in server_sts, server_sts


def test_bad_signature_v3(ecsim):
    query = {"RegionId": REGION}
    headers = signer.v3_headers(ecsim.ak, "wrong-secret", "DescribeRegions", f"127.0.0.1:{ecsim.port}", query)
    r = http_request(ecsim.port, "POST", "/?" + signer.encode_params(query), headers=headers)
    assert_json_error(r, 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("kind", ["tea-v3", "tea-v1", "classic"])
def test_wrong_secret_through_sdks(ecsim, kind):
    c = ecsim.client(kind, secret="definitely-not-the-secret")
    e = expect_error(lambda: c.call("DescribeRegions"), 400)
    # Classic rewrites SignatureDoesNotMatch to InvalidAccessKeySecret when the server's
    # string to sign equals its own (spec/wire-protocol.md §7.2) — and must not crash.
    expected = "InvalidAccessKeySecret" if kind == "classic" else "SignatureDoesNotMatch"
    assert e.code == expected, e


def test_unknown_access_key(ecsim):
    r = v1_call(ecsim, "DescribeRegions", ak="LTAI5tNoSuchKey000000000")
    assert_json_error(r, 404, "InvalidAccessKeyId.NotFound")
    e = expect_error(lambda: ecsim.client("tea-v3", ak="LTAI5tNoSuchKey000000000").call("DescribeRegions"),
                     404, "InvalidAccessKeyId.NotFound")
    assert e.data and e.data["Code"] == "InvalidAccessKeyId.NotFound"


def test_replayed_nonce(ecsim):
    nonce = signer.nonce()
    p = signer.v1_sign(ecsim.secret, "POST", signer.v1_params("DescribeRegions", ecsim.ak, signature_nonce=nonce))
    target = "/?" + signer.encode_params(p)
    first = http_request(ecsim.port, "POST", target)
    assert first.status == 200, first
    assert_json_error(http_request(ecsim.port, "POST", target), 400, "SignatureNonceUsed")
    # Same nonce, fresh timestamp and signature: still a replay.
    r = v1_call(ecsim, "DescribeRegions", signature_nonce=nonce, ts=signer.timestamp(-1))
    assert_json_error(r, 400, "SignatureNonceUsed")


@pytest.mark.parametrize("offset", [-20 * 60, 20 * 60])
def test_expired_timestamp(ecsim, offset):
    r = v1_call(ecsim, "DescribeRegions", ts=signer.timestamp(offset))
    assert_json_error(r, 400, "InvalidTimeStamp.Expired")


def test_timestamp_within_window_accepted(ecsim):
    assert v1_call(ecsim, "DescribeRegions", ts=signer.timestamp(-10 * 60)).status == 200


def test_unknown_action(ecsim):
    assert_json_error(v1_call(ecsim, "DescribeUnicorns", {"RegionId": REGION}), 404, "InvalidAction.NotFound")


def test_unknown_version(ecsim):
    assert_json_error(v1_call(ecsim, "DescribeRegions", version="2099-01-01"), 400, "InvalidVersion")


def test_oversized_body(ecsim):
    size = 20 * 1024 * 1024
    conn_body = b"A=" + b"x" * (size - 2)
    conn = socket.create_connection(("127.0.0.1", ecsim.port), timeout=15)
    try:
        conn.sendall((f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{ecsim.port}\r\n"
                      f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {size}\r\n"
                      "Connection: close\r\n\r\n").encode())
        try:
            conn.sendall(conn_body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        raw = b""
        try:
            while chunk := conn.recv(65536):
                raw += chunk
        except ConnectionResetError:
            pass
    finally:
        conn.close()
    assert raw, "no response to an oversized body"
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    assert_json_error(RawResponse(int(status_line.split()[1]), headers, body), 413)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        n = int(size_line.split(b";")[0], 16)
        if n == 0:
            break
        out += rest[:n]
        data = rest[n + 2:]
    return out


def test_invalid_utf8_parameter(ecsim):
    r = v1_call(ecsim, "DescribeImages", {"RegionId": REGION, "ImageName": b"\xff\xfe"})
    assert_json_error(r, 400)
    p = signer.v1_sign(ecsim.secret, "POST", signer.v1_params("DescribeImages", ecsim.ak, {"RegionId": REGION}))
    body = signer.encode_params(p).encode() + b"&ImageName=\xc3"
    r = http_request(ecsim.port, "POST", "/", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_json_error(r, 400)


def test_unsigned_request_is_json_error(ecsim):
    r = http_request(ecsim.port, "POST", "/?Action=DescribeRegions&Version=2014-05-26")
    assert 400 <= r.status < 500, r
    assert_error_body(r.json())


def test_xml_format(ecsim):
    r = v1_call(ecsim, "DescribeRegions", fmt="XML")
    assert r.status == 200, r
    assert r.content_type.replace(" ", "").lower() == "text/xml;charset=utf-8", r.headers
    root = ET.fromstring(r.body)
    assert root.tag == "DescribeRegionsResponse", r.body[:300]
    assert root.findtext("RequestId")
    assert "cn-hangzhou" in [e.text for e in root.iterfind("Regions/Region/RegionId")]

    r = v1_call(ecsim, "DeleteImage", {"RegionId": REGION, "ImageId": "m-doesnotexist0000000"}, fmt="XML")
    assert r.status == 404, r
    assert r.content_type.replace(" ", "").lower() == "text/xml;charset=utf-8", r.headers
    err = ET.fromstring(r.body)
    assert err.tag == "Error" and err.findtext("Code") == "InvalidImageId.NotFound", r.body
    for name in ("RequestId", "HostId", "Message", "Recommend"):
        assert err.findtext(name), (name, r.body)
