"""A small, independent RPC signer (spec/wire-protocol.md §3-4) for raw requests.

Used by the negative tests, which need to send requests no SDK would produce (tampered
signatures, replayed nonces, stale timestamps, invalid bytes, unknown versions).
Values may be `str` or `bytes`; bytes are signed and sent as-is (percent-encoded), which is
how invalid UTF-8 is put on the wire.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from typing import Mapping, Union

Value = Union[str, bytes]

API_VERSION = "2014-05-26"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def enc(v: Value) -> str:
    """Canonical percent-encoding: keep A-Z a-z 0-9 - _ . ~, everything else %XX (upper hex)."""
    data = v.encode("utf-8") if isinstance(v, str) else v
    return "".join(chr(b) if b in _UNRESERVED else "%%%02X" % b for b in data)


def timestamp(offset_seconds: float = 0) -> str:
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def nonce() -> str:
    return uuid.uuid4().hex


def canonical_query(params: Mapping[str, Value]) -> str:
    return "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params, key=lambda k: k.encode()))


# ------------------------------------------------------------------ V1 (HMAC-SHA1)


def v1_string_to_sign(method: str, params: Mapping[str, Value]) -> str:
    p = {k: v for k, v in params.items() if k != "Signature"}
    return f"{method.upper()}&%2F&{enc(canonical_query(p))}"


def v1_signature(secret: str, method: str, params: Mapping[str, Value]) -> str:
    sts = v1_string_to_sign(method, params).encode()
    return base64.b64encode(hmac.new((secret + "&").encode(), sts, hashlib.sha1).digest()).decode()


def v1_params(action: str, access_key_id: str, params: Mapping[str, Value] | None = None, *,
              version: str = API_VERSION, fmt: str = "JSON", ts: str | None = None,
              signature_nonce: str | None = None) -> dict[str, Value]:
    p: dict[str, Value] = {
        "Action": action,
        "Version": version,
        "Format": fmt,
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": signature_nonce or nonce(),
        "Timestamp": ts or timestamp(),
    }
    p.update(params or {})
    return p


def v1_sign(secret: str, method: str, params: Mapping[str, Value]) -> dict[str, Value]:
    signed = dict(params)
    signed["Signature"] = v1_signature(secret, method, params)
    return signed


def encode_params(params: Mapping[str, Value]) -> str:
    """Wire form (any order; the server re-canonicalises)."""
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in params.items())


# ------------------------------------------------------------------ V3 (ACS3-HMAC-SHA256)


def v3_headers(access_key_id: str, secret: str, action: str, host: str,
               query: Mapping[str, Value], body: bytes = b"", method: str = "POST",
               version: str = API_VERSION, date: str | None = None,
               signature_nonce: str | None = None) -> dict[str, str]:
    """Headers for a V3 request signing the minimal header set (as Node Tea does)."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or timestamp(),
        "x-acs-signature-nonce": signature_nonce or nonce(),
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    signed = sorted(headers)
    canon_headers = "".join(f"{h}:{headers[h].strip()}\n" for h in signed)
    creq = "\n".join([method, "/", canonical_query(query), canon_headers, ";".join(signed),
                      headers["x-acs-content-sha256"]])
    sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(creq.encode()).hexdigest()
    sig = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"ACS3-HMAC-SHA256 Credential={access_key_id},"
                                f"SignedHeaders={';'.join(signed)},Signature={sig}")
    return headers


# ------------------------------------------------------------------ self-check against spec vectors


def _self_test() -> None:
    # spec/wire-protocol.md §5.1
    p = {"AccessKeyId": "testid", "Action": "DeleteImage", "Force": "true", "Format": "json",
         "ImageId": "m-test", "RegionId": "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
         "SignatureNonce": "3ebc1c7f0f1c4d6e9a1b2c3d4e5f6a7b", "SignatureVersion": "1.0",
         "Timestamp": "2024-01-01T12:00:00Z", "Version": "2014-05-26"}
    assert v1_signature("testsecret", "GET", p) == "C+vwFWZtRgapDpKOV8g+wJIezi4=", "V1 GET vector"
    assert v1_signature("testsecret", "POST", p) == "Fj+wRLrDPP+91+2HJYiS7iHjYdE=", "V1 POST vector"
    # §5.4 (a)
    h = v3_headers("testid", "testsecret", "DeleteImage", "127.0.0.1:8080",
                   {"RegionId": "cn-hangzhou", "ImageId": "m-test", "Force": "true"},
                   date="2024-01-01T12:00:00Z", signature_nonce="3ebc1c7f0f1c4d6e9a1b2c3d4e5f6a7b")
    assert h["Authorization"].endswith(
        "Signature=5d4a73d230d402eb19230206b7a1eae0afa25c5268c8f2f0366bc3ecffd6d603"), "V3 vector (a)"
