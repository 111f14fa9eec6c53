"""RAM and STS end to end with the official SDKs (alibabacloud-ram20150501, -sts20150401,
-ecs20140526): root creates a user, a key and a policy; the user describes but cannot delete;
a per-image allow; a Deny override; an inactive key; AssumeRole credentials (V3 and V1).
Spec: ram-authorization.md §3-§6."""
from __future__ import annotations

import json
import subprocess

import pytest

from support import REGION, create_image, run_instances, unique, wait_image_status

DESCRIBE_ONLY = {"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}]}


def config(port: int, ak: str, secret: str, token: str | None = None, v1: bool = False):
    from alibabacloud_tea_openapi import models as openapi_models

    cfg = openapi_models.Config(access_key_id=ak, access_key_secret=secret, endpoint=f"127.0.0.1:{port}",
                                protocol="http", region_id=REGION, connect_timeout=5000, read_timeout=20000)
    if token:
        cfg.security_token = token
    if v1:
        cfg.signature_algorithm = "v2"
    return cfg


def ram_client(port, ak, secret, token=None):
    from alibabacloud_ram20150501.client import Client
    return Client(config(port, ak, secret, token))


def sts_client(port, ak, secret, token=None):
    from alibabacloud_sts20150401.client import Client
    return Client(config(port, ak, secret, token))


def ecs_client(port, ak, secret, token=None, v1=False):
    from alibabacloud_ecs20140526.client import Client
    return Client(config(port, ak, secret, token, v1))


def ecs_error(fn):
    """Runs an SDK call that must fail; returns the SDK exception."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    with pytest.raises(AlibabaCloudException) as info:
        fn()
    return info.value


def assert_denied(exc, code: str, action: str, no_permission: str = "ImplicitDeny",
                  policy_type: str = "AccountLevelIdentityBasedPolicy") -> dict:
    assert exc.status_code == 403, exc
    assert exc.code == code, exc
    detail = exc.access_denied_detail or (exc.data or {}).get("AccessDeniedDetail")
    assert isinstance(detail, dict), f"no AccessDeniedDetail in {exc!r} / {exc.data!r}"
    assert detail["AuthAction"] == action
    assert detail["NoPermissionType"] == no_permission
    assert detail["PolicyType"] == policy_type
    for field in ("AuthPrincipalType", "AuthPrincipalOwnerId", "AuthPrincipalDisplayName",
                  "EncodedDiagnosticMessage"):
        assert isinstance(detail.get(field), str), detail
    return detail


@pytest.fixture(scope="module")
def ram_root(ecsim):
    return ram_client(ecsim.port, ecsim.ak, ecsim.secret)


@pytest.fixture(scope="module")
def account_id(ecsim):
    return sts_client(ecsim.port, ecsim.ak, ecsim.secret).get_caller_identity().body.account_id


@pytest.fixture(scope="module")
def images(tea, system_image):
    """Two Available custom images of the root account."""
    instance = run_instances(tea, system_image)[0]
    made = [create_image(tea, InstanceId=instance), create_image(tea, InstanceId=instance)]
    for image in made:
        wait_image_status(tea, image)
    return made


def make_user(ram_root, name: str, document: dict | None = None):
    from alibabacloud_ram20150501 import models as m

    user = ram_root.create_user(m.CreateUserRequest(user_name=name, display_name=name)).body.user
    assert user.user_name == name and user.user_id
    key = ram_root.create_access_key(m.CreateAccessKeyRequest(user_name=name)).body.access_key
    assert key.status == "Active" and key.access_key_id.startswith("LTAI")
    if document is not None:
        policy = f"{name}-policy"
        created = ram_root.create_policy(m.CreatePolicyRequest(
            policy_name=policy, policy_document=json.dumps(document), description="e2e")).body.policy
        assert created.policy_type == "Custom" and created.default_version == "v1"
        ram_root.attach_policy_to_user(m.AttachPolicyToUserRequest(
            policy_type="Custom", policy_name=policy, user_name=name))
    return key.access_key_id, key.access_key_secret


def test_user_describes_but_delete_is_denied_then_per_image_allow_and_deny_override(
        ecsim, ram_root, account_id, images):
    from alibabacloud_ecs20140526 import models as ecs
    from alibabacloud_ram20150501 import models as m

    name = unique("alice")
    ak, secret = make_user(ram_root, name, DESCRIBE_ONLY)
    user_ecs = ecs_client(ecsim.port, ak, secret)

    listed = user_ecs.describe_images(ecs.DescribeImagesRequest(region_id=REGION, image_id=images[0]))
    assert [i.image_id for i in listed.body.images.image] == [images[0]]

    exc = ecs_error(lambda: user_ecs.delete_image(ecs.DeleteImageRequest(region_id=REGION, image_id=images[0])))
    detail = assert_denied(exc, "Forbidden.RAM", "ecs:DeleteImage")
    assert detail["AuthPrincipalType"] == "SubUser"
    assert detail["AuthPrincipalOwnerId"] == account_id

    # Allow DeleteImage on the first image's ARN only.
    arn = f"acs:ecs:{REGION}:{account_id}:image/{images[0]}"
    ram_root.create_policy_version(m.CreatePolicyVersionRequest(
        policy_name=f"{name}-policy", set_as_default=True, policy_document=json.dumps({
            "Version": "1", "Statement": DESCRIBE_ONLY["Statement"] + [
                {"Effect": "Allow", "Action": "ecs:DeleteImage", "Resource": arn}]})))
    exc = ecs_error(lambda: user_ecs.delete_image(ecs.DeleteImageRequest(
        region_id=REGION, image_id=images[1], force=True)))
    assert_denied(exc, "Forbidden.RAM", "ecs:DeleteImage")

    # A Deny on ecs:* overrides every Allow.
    deny = f"{name}-deny"
    ram_root.create_policy(m.CreatePolicyRequest(policy_name=deny, policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Deny", "Action": "ecs:*", "Resource": "*"}]})))
    ram_root.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type="Custom", policy_name=deny,
                                                               user_name=name))
    exc = ecs_error(lambda: user_ecs.delete_image(ecs.DeleteImageRequest(
        region_id=REGION, image_id=images[0], force=True)))
    assert_denied(exc, "Forbidden.RAM", "ecs:DeleteImage", no_permission="ExplicitDeny")
    exc = ecs_error(lambda: user_ecs.describe_images(ecs.DescribeImagesRequest(region_id=REGION)))
    assert_denied(exc, "Forbidden.RAM", "ecs:DescribeImages", no_permission="ExplicitDeny")
    ram_root.detach_policy_from_user(m.DetachPolicyFromUserRequest(policy_type="Custom", policy_name=deny,
                                                                   user_name=name))

    # With the Deny gone, the allowed image can be deleted.
    user_ecs.delete_image(ecs.DeleteImageRequest(region_id=REGION, image_id=images[0], force=True))
    remaining = ecsim.client().call("DescribeImages", RegionId=REGION, ImageId=",".join(images), Status="ALL")
    assert [i["ImageId"] for i in remaining["Images"]["Image"]] == [images[1]]

    # What the user holds, as RAM reports it.
    policies = ram_root.list_policies_for_user(m.ListPoliciesForUserRequest(user_name=name)).body
    assert [p.policy_name for p in policies.policies.policy] == [f"{name}-policy"]
    versions = ram_root.list_policy_versions(m.ListPolicyVersionsRequest(
        policy_name=f"{name}-policy", policy_type="Custom")).body.policy_versions.policy_version
    assert [(v.version_id, v.is_default_version) for v in versions] == [("v1", False), ("v2", True)]


def test_inactive_key_is_refused(ecsim, ram_root):
    from alibabacloud_ecs20140526 import models as ecs
    from alibabacloud_ram20150501 import models as m

    name = unique("inactive")
    ak, secret = make_user(ram_root, name, DESCRIBE_ONLY)
    user_ecs = ecs_client(ecsim.port, ak, secret)
    user_ecs.describe_regions(ecs.DescribeRegionsRequest())
    ram_root.update_access_key(m.UpdateAccessKeyRequest(user_name=name, user_access_key_id=ak, status="Inactive"))
    keys = ram_root.list_access_keys(m.ListAccessKeysRequest(user_name=name)).body.access_keys.access_key
    assert [(k.access_key_id, k.status) for k in keys] == [(ak, "Inactive")]
    for client in (user_ecs, ecs_client(ecsim.port, ak, secret, v1=True)):
        exc = ecs_error(lambda c=client: c.describe_regions(ecs.DescribeRegionsRequest()))
        assert (exc.status_code, exc.code) == (400, "InvalidAccessKeyId.Inactive")


def test_ram_errors_through_the_sdk(ecsim, ram_root):
    from alibabacloud_ram20150501 import models as m

    name = unique("dup")
    ram_root.create_user(m.CreateUserRequest(user_name=name))
    exc = ecs_error(lambda: ram_root.create_user(m.CreateUserRequest(user_name=name.upper())))
    assert (exc.status_code, exc.code) == (409, "EntityAlreadyExists.User")
    exc = ecs_error(lambda: ram_root.get_user(m.GetUserRequest(user_name=unique("nobody"))))
    assert (exc.status_code, exc.code) == (404, "EntityNotExist.User")
    exc = ecs_error(lambda: ram_root.create_policy(m.CreatePolicyRequest(
        policy_name=unique("bad"), policy_document='{"Version":"2","Statement":[]}')))
    assert (exc.status_code, exc.code) == (400, "MalformedPolicyDocument")
    for _ in range(2):
        ram_root.create_access_key(m.CreateAccessKeyRequest(user_name=name))
    exc = ecs_error(lambda: ram_root.create_access_key(m.CreateAccessKeyRequest(user_name=name)))
    assert (exc.status_code, exc.code) == (409, "LimitExceeded.User.AccessKey")
    exc = ecs_error(lambda: ram_root.delete_user(m.DeleteUserRequest(user_name=name)))
    assert (exc.status_code, exc.code) == (409, "DeleteConflict.User.AccessKey")
    users = ram_root.list_users(m.ListUsersRequest(max_items=1000)).body
    assert name in [u.user_name for u in users.users.user]
    system = ram_root.get_policy(m.GetPolicyRequest(policy_name="AliyunECSReadOnlyAccess",
                                                    policy_type="System")).body
    assert system.policy.policy_type == "System"
    assert "ecs:Describe*" in system.default_policy_version.policy_document


def test_assume_role_credentials_describe_but_do_not_delete(ecsim, ram_root, account_id, images):
    from alibabacloud_ecs20140526 import models as ecs
    from alibabacloud_ram20150501 import models as m
    from alibabacloud_sts20150401 import models as sts

    role = unique("reader")
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{account_id}:root"]}}]}
    created = ram_root.create_role(m.CreateRoleRequest(
        role_name=role, assume_role_policy_document=json.dumps(trust), max_session_duration=3600)).body.role
    assert created.arn == f"acs:ram::{account_id}:role/{role}"
    ram_root.attach_policy_to_role(m.AttachPolicyToRoleRequest(
        policy_type="System", policy_name="AliyunECSReadOnlyAccess", role_name=role))

    name = unique("assumer")
    ak, secret = make_user(ram_root, name)
    ram_root.attach_policy_to_user(m.AttachPolicyToUserRequest(
        policy_type="System", policy_name="AliyunSTSAssumeRoleAccess", user_name=name))

    # Root may not assume roles.
    root_sts = sts_client(ecsim.port, ecsim.ak, ecsim.secret)
    exc = ecs_error(lambda: root_sts.assume_role(sts.AssumeRoleRequest(role_arn=created.arn,
                                                                       role_session_name="root-try")))
    assert (exc.status_code, exc.code) == (403, "NoPermission")

    resp = sts_client(ecsim.port, ak, secret).assume_role(sts.AssumeRoleRequest(
        role_arn=created.arn, role_session_name="e2e-session", duration_seconds=900)).body
    creds = resp.credentials
    assert creds.access_key_id.startswith("STS.") and creds.security_token and creds.expiration.endswith("Z")
    assert resp.assumed_role_user.arn == f"{created.arn}/e2e-session"

    who = sts_client(ecsim.port, creds.access_key_id, creds.access_key_secret, creds.security_token)
    identity = who.get_caller_identity().body
    assert identity.identity_type == "AssumedRoleUser" and identity.account_id == account_id

    for v1 in (False, True):
        client = ecs_client(ecsim.port, creds.access_key_id, creds.access_key_secret, creds.security_token, v1=v1)
        listed = client.describe_images(ecs.DescribeImagesRequest(region_id=REGION, image_id=images[1]))
        assert [i.image_id for i in listed.body.images.image] == [images[1]], f"v1={v1}"
        exc = ecs_error(lambda c=client: c.delete_image(ecs.DeleteImageRequest(region_id=REGION,
                                                                               image_id=images[1])))
        detail = assert_denied(exc, "Forbidden.RAM", "ecs:DeleteImage")
        assert detail["AuthPrincipalType"] == "AssumedRoleUser"
        assert detail["AuthPrincipalDisplayName"] == f"{role}:e2e-session"
    # A token that does not belong to the key is refused.
    bad = ecs_client(ecsim.port, creds.access_key_id, creds.access_key_secret, "CAISforged")
    exc = ecs_error(lambda: bad.describe_regions(ecs.DescribeRegionsRequest()))
    assert (exc.status_code, exc.code) == (400, "InvalidSecurityToken.Malformed")


def test_explain_names_the_policies_of_a_denied_request(ecsim, ram_root, account_id):
    name = unique("explained")
    ak, _ = make_user(ram_root, name, DESCRIBE_ONLY)
    r = ecsim.run_cli("admin", "explain", "--data-dir", str(ecsim.data_dir), "--access-key-id", ak,
                      "--action", "ecs:DeleteImage",
                      "--resource", f"acs:ecs:{REGION}:{account_id}:image/m-bp1example",
                      "--source-ip", "203.0.113.7")
    assert r.returncode == 0, r.stderr
    assert f"user/{name}" in r.stdout
    assert f"{name}-policy (custom policy" in r.stdout
    assert "ecs:DeleteImage: ImplicitDeny" in r.stdout
    assert "matches none of Action" in r.stdout
    unknown = ecsim.run_cli("admin", "explain", "--data-dir", str(ecsim.data_dir), "--access-key-id",
                            "LTAInosuchkey", "--action", "ecs:DescribeImages")
    assert unknown.returncode != 0
    assert isinstance(unknown, subprocess.CompletedProcess)
