//! Authorization of ECS calls (spec ram-authorization §3, §4): default deny, per-resource
//! allows, explicit Deny winning, group policies, conditions, the denial body, and the
//! explain mode.

use super::*;
use axum::extract::ConnectInfo;
use base64::Engine as _;
use std::net::SocketAddr;

#[tokio::test]
async fn describe_allowed_delete_denied_with_access_denied_detail() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let alice = user_with(&app, "alice", &doc(json!([allow("ecs:Describe*", "*")]))).await;

    let listed = ecs(&app, &alice, "DescribeImages")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    assert_eq!(listed["Images"]["Image"][0]["ImageId"], image.as_str());

    let body = service_err(
        ecs(&app, &alice, "DeleteImage")
            .region()
            .param("ImageId", &image)
            .send()
            .await,
        403,
        "Forbidden.RAM",
    );
    assert_eq!(
        body["Message"],
        "User not authorized to operate on the specified resource, or this API doesn't support RAM."
    );
    assert_eq!(body["HostId"], "ecs.cn-hangzhou.aliyuncs.com");
    let d = detail(
        &body,
        "ecs:DeleteImage",
        "ImplicitDeny",
        "AccountLevelIdentityBasedPolicy",
    );
    assert_eq!(d["AuthPrincipalType"], "SubUser");
    assert_eq!(
        d["AuthPrincipalOwnerId"],
        app.root.account_id.to_string().as_str()
    );
    let user = ram(&app, &Who::root(&app), "GetUser")
        .param("UserName", "alice")
        .ok()
        .await;
    assert_eq!(d["AuthPrincipalDisplayName"], user["User"]["UserId"]);

    // The diagnostic message decodes (base64 JSON) and DecodeDiagnosticMessage reads it back.
    let encoded = str_of(&d["EncodedDiagnosticMessage"]);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&encoded)
        .expect("base64");
    let trace: Value = serde_json::from_slice(&raw).expect("JSON");
    assert_eq!(trace["AuthResource"], image_arn(&app, &image).as_str());
    assert_eq!(trace["ExplicitDeny"], false);
    let decoded = ram(&app, &Who::root(&app), "DecodeDiagnosticMessage")
        .param("EncodedDiagnosticMessage", &encoded)
        .ok()
        .await;
    assert_eq!(
        decoded["DecodedDiagnosticMessage"]["AuthAction"],
        "ecs:DeleteImage"
    );

    // The image is untouched.
    assert!(app.describe_image(&image).await.is_some());
}

#[tokio::test]
async fn a_policy_on_one_images_arn_allows_that_image_only() {
    let app = TestApp::start();
    let (first, _) = app.available_image(Some("first-image")).await;
    let (second, _) = app.available_image(Some("second-image")).await;
    let alice = user_with(
        &app,
        "alice",
        &doc(json!([
            allow("ecs:DeleteImage", &image_arn(&app, &first)),
            allow("ecs:Describe*", "*")
        ])),
    )
    .await;
    let body = service_err(
        ecs(&app, &alice, "DeleteImage")
            .region()
            .param("ImageId", &second)
            .param("Force", "true")
            .send()
            .await,
        403,
        "Forbidden.RAM",
    );
    detail(
        &body,
        "ecs:DeleteImage",
        "ImplicitDeny",
        "AccountLevelIdentityBasedPolicy",
    );
    ecs(&app, &alice, "DeleteImage")
        .region()
        .param("ImageId", &first)
        .param("Force", "true")
        .send()
        .await
        .ok();
    assert!(app.describe_image(&first).await.is_none());
    assert!(app.describe_image(&second).await.is_some());
    // Another region's ARN does not match.
    let other = user_with(
        &app,
        "bob",
        &doc(json!([allow(
            "ecs:DeleteImage",
            &format!("acs:ecs:cn-shanghai:*:image/{second}")
        )])),
    )
    .await;
    service_err(
        ecs(&app, &other, "DeleteImage")
            .region()
            .param("ImageId", &second)
            .send()
            .await,
        403,
        "Forbidden.RAM",
    );
}

#[tokio::test]
async fn an_explicit_deny_on_ecs_star_overrides_every_allow() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let alice = user(&app, "alice").await;
    attach_to_user(&app, "System", "AdministratorAccess", "alice").await;
    ecs(&app, &alice, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
    policy(&app, "no-ecs", &doc(json!([deny("ecs:*", "*")]))).await;
    attach_to_user(&app, "Custom", "no-ecs", "alice").await;
    for action in ["DescribeImages", "DeleteImage"] {
        let body = service_err(
            ecs(&app, &alice, action)
                .region()
                .param("ImageId", &image)
                .send()
                .await,
            403,
            "Forbidden.RAM",
        );
        detail(
            &body,
            &format!("ecs:{action}"),
            "ExplicitDeny",
            "AccountLevelIdentityBasedPolicy",
        );
    }
    // RAM itself is still allowed by AdministratorAccess.
    ram(&app, &alice, "ListUsers").ok().await;
}

#[tokio::test]
async fn group_policies_apply_to_members() {
    let app = TestApp::start();
    let root = Who::root(&app);
    let alice = user(&app, "alice").await;
    service_err(
        ecs(&app, &alice, "DescribeImages").region().send().await,
        403,
        "Forbidden.RAM",
    );
    ram(&app, &root, "CreateGroup")
        .param("GroupName", "readers")
        .ok()
        .await;
    ram(&app, &root, "AttachPolicyToGroup")
        .param("PolicyType", "System")
        .param("PolicyName", "AliyunECSReadOnlyAccess")
        .param("GroupName", "readers")
        .ok()
        .await;
    ram(&app, &root, "AddUserToGroup")
        .param("GroupName", "readers")
        .param("UserName", "alice")
        .ok()
        .await;
    ecs(&app, &alice, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
    ram(&app, &root, "RemoveUserFromGroup")
        .param("GroupName", "readers")
        .param("UserName", "alice")
        .ok()
        .await;
    service_err(
        ecs(&app, &alice, "DescribeImages").region().send().await,
        403,
        "Forbidden.RAM",
    );
}

#[tokio::test]
async fn describe_images_by_id_authorizes_each_image() {
    let app = TestApp::start();
    let (a, _) = app.available_image(Some("image-a")).await;
    let (b, _) = app.available_image(Some("image-b")).await;
    let alice = user_with(
        &app,
        "alice",
        &doc(json!([allow("ecs:DescribeImages", &image_arn(&app, &a))])),
    )
    .await;
    let one = ecs(&app, &alice, "DescribeImages")
        .region()
        .param("ImageId", &a)
        .send()
        .await
        .ok();
    assert_eq!(one["TotalCount"], 1);
    service_err(
        ecs(&app, &alice, "DescribeImages")
            .region()
            .param("ImageId", &format!("{a},{b}"))
            .send()
            .await,
        403,
        "Forbidden.RAM",
    );
    // Without ImageId the call is on image/*, which one image's ARN does not cover.
    service_err(
        ecs(&app, &alice, "DescribeImages").region().send().await,
        403,
        "Forbidden.RAM",
    );
}

#[tokio::test]
async fn describe_instances_without_permission_is_an_empty_list() {
    let app = TestApp::start();
    app.run_instance(X86_IMAGE).await;
    let alice = user(&app, "alice").await;
    let body = ecs(&app, &alice, "DescribeInstances")
        .region()
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0);
    assert_eq!(body["Instances"]["Instance"], json!([]));
    attach_to_user(&app, "System", "AliyunECSReadOnlyAccess", "alice").await;
    let body = ecs(&app, &alice, "DescribeInstances")
        .region()
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 1);
}

#[tokio::test]
async fn all_resources_actions_need_resource_star() {
    let app = TestApp::start();
    let alice = user_with(
        &app,
        "alice",
        &doc(json!([allow("ecs:DescribeRegions", "acs:ecs:*:*:*")])),
    )
    .await;
    service_err(
        ecs(&app, &alice, "DescribeRegions").send().await,
        403,
        "Forbidden.RAM",
    );
    let bob = user_with(
        &app,
        "bob",
        &doc(json!([allow("ecs:DescribeRegions", "*")])),
    )
    .await;
    ecs(&app, &bob, "DescribeRegions").send().await.ok();
}

#[tokio::test]
async fn inactive_and_deleted_keys_are_refused_before_authorization() {
    let app = TestApp::start();
    let root = Who::root(&app);
    let alice = user(&app, "alice").await;
    attach_to_user(&app, "System", "AdministratorAccess", "alice").await;
    ecs(&app, &alice, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
    ram(&app, &root, "UpdateAccessKey")
        .param("UserName", "alice")
        .param("UserAccessKeyId", &alice.key_id)
        .param("Status", "Inactive")
        .ok()
        .await;
    ecs(&app, &alice, "DescribeImages")
        .region()
        .send()
        .await
        .err_msg(
            400,
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        );
    ecs_v1(&app, &alice, "DescribeImages")
        .region()
        .send()
        .await
        .err(400, "InvalidAccessKeyId.Inactive");
    ram(&app, &root, "UpdateAccessKey")
        .param("UserName", "alice")
        .param("UserAccessKeyId", &alice.key_id)
        .param("Status", "Active")
        .ok()
        .await;
    ecs(&app, &alice, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
    ram(&app, &root, "DeleteAccessKey")
        .param("UserName", "alice")
        .param("UserAccessKeyId", &alice.key_id)
        .ok()
        .await;
    ecs(&app, &alice, "DescribeImages")
        .region()
        .send()
        .await
        .err(404, "InvalidAccessKeyId.NotFound");
    // A wrong secret for a user key is a signature mismatch, as for root keys.
    let other = user(&app, "bob").await;
    ecs(
        &app,
        &Who {
            secret: "wrong".into(),
            ..other
        },
        "DescribeImages",
    )
    .region()
    .send()
    .await
    .err(400, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn ram_calls_are_authorized_like_ecs_calls() {
    let app = TestApp::start();
    let alice = user(&app, "alice").await;
    attach_to_user(&app, "System", "AliyunRAMReadOnlyAccess", "alice").await;
    ram(&app, &alice, "ListUsers").ok().await;
    ram(&app, &alice, "GetUser")
        .param("UserName", "alice")
        .ok()
        .await;
    let body = service_err(
        ram(&app, &alice, "CreateUser")
            .param("UserName", "mallory")
            .send()
            .await,
        403,
        "NoPermission",
    );
    assert_eq!(body["HostId"], "ram.aliyuncs.com");
    detail(
        &body,
        "ram:CreateUser",
        "ImplicitDeny",
        "AccountLevelIdentityBasedPolicy",
    );
    // A user cannot grant itself more.
    service_err(
        ram(&app, &alice, "AttachPolicyToUser")
            .param("PolicyType", "System")
            .param("PolicyName", "AdministratorAccess")
            .param("UserName", "alice")
            .send()
            .await,
        403,
        "NoPermission",
    );
    // Attach needs both the user's and the policy's ARN.
    let bob = user_with(
        &app,
        "bob",
        &doc(json!([allow(
            "ram:AttachPolicyToUser",
            "acs:ram:*:*:user/*"
        )])),
    )
    .await;
    service_err(
        ram(&app, &bob, "AttachPolicyToUser")
            .param("PolicyType", "System")
            .param("PolicyName", "ReadOnlyAccess")
            .param("UserName", "bob")
            .send()
            .await,
        403,
        "NoPermission",
    );
    let carol = user_with(
        &app,
        "carol",
        &doc(json!([
            allow("ram:AttachPolicyToUser", "acs:ram:*:*:user/*"),
            allow(
                "ram:AttachPolicyToUser",
                "acs:ram:*:system:policy/ReadOnlyAccess"
            )
        ])),
    )
    .await;
    ram(&app, &carol, "AttachPolicyToUser")
        .param("PolicyType", "System")
        .param("PolicyName", "ReadOnlyAccess")
        .param("UserName", "carol")
        .ok()
        .await;
}

fn with_peer(
    mut request: axum::http::Request<axum::body::Body>,
    ip: &str,
) -> axum::http::Request<axum::body::Body> {
    let addr: SocketAddr = format!("{ip}:40000").parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

#[tokio::test]
async fn source_ip_and_current_time_conditions() {
    let app = TestApp::start();
    let alice = user_with(
        &app,
        "alice",
        &doc(json!([{
            "Effect": "Allow", "Action": "ecs:DescribeImages", "Resource": "*",
            "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}
        }])),
    )
    .await;
    let inside = ecs(&app, &alice, "DescribeImages").region().build();
    app.send(with_peer(inside.request, "10.1.2.3")).await.ok();
    let outside = ecs(&app, &alice, "DescribeImages").region().build();
    service_err(
        app.send(with_peer(outside.request, "203.0.113.7")).await,
        403,
        "Forbidden.RAM",
    );
    // In-process requests have no peer: a positive IP condition cannot hold.
    service_err(
        ecs(&app, &alice, "DescribeImages").region().send().await,
        403,
        "Forbidden.RAM",
    );

    let deadline = ecsim_core::clock::format_time(app.now() + 3_600_000);
    let bob = user_with(
        &app,
        "bob",
        &doc(json!([{
            "Effect": "Allow", "Action": "ecs:DescribeImages", "Resource": "*",
            "Condition": {"DateLessThan": {"acs:CurrentTime": deadline}}
        }])),
    )
    .await;
    ecs(&app, &bob, "DescribeImages").region().send().await.ok();
    app.clock.advance(2 * 3_600_000);
    service_err(
        ecs(&app, &bob, "DescribeImages").region().send().await,
        403,
        "Forbidden.RAM",
    );

    let carol = user_with(
        &app,
        "carol",
        &doc(json!([{
            "Effect": "Allow", "Action": "ecs:DescribeImages", "Resource": "*",
            "Condition": {"StringLike": {"acs:AccessId": "LTAI*"}, "Bool": {"acs:SecureTransport": "false"}}
        }])),
    )
    .await;
    ecs(&app, &carol, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn resource_tag_conditions_read_the_images_tags() {
    let app = TestApp::start();
    let (tagged, _) = app.available_image(Some("tagged-image")).await;
    let (plain, _) = app.available_image(Some("plain-image")).await;
    app.call("TagResources")
        .region()
        .param("ResourceType", "image")
        .param("ResourceId.1", &tagged)
        .param("Tag.1.Key", "team")
        .param("Tag.1.Value", "web")
        .send()
        .await
        .ok();
    let alice = user_with(
        &app,
        "alice",
        &doc(json!([{
            "Effect": "Allow", "Action": "ecs:ModifyImageAttribute", "Resource": "*",
            "Condition": {"StringEquals": {"acs:ResourceTag/team": "web"}}
        }])),
    )
    .await;
    ecs(&app, &alice, "ModifyImageAttribute")
        .region()
        .param("ImageId", &tagged)
        .param("Description", "ok")
        .send()
        .await
        .ok();
    service_err(
        ecs(&app, &alice, "ModifyImageAttribute")
            .region()
            .param("ImageId", &plain)
            .param("Description", "no")
            .send()
            .await,
        403,
        "Forbidden.RAM",
    );
}

#[tokio::test]
async fn explain_mode_shows_the_policies_and_why_nothing_allowed() {
    let app = TestApp::start();
    let alice = user_with(&app, "alice", &doc(json!([allow("ecs:Describe*", "*")]))).await;
    attach_to_user(&app, "System", "AliyunSTSAssumeRoleAccess", "alice").await;
    let resources = vec![image_arn(&app, "m-bp1abc")];
    let text = ecsim_server::explain_access(
        &app.state.store,
        &ecsim_server::ExplainQuestion {
            access_key_id: &alice.key_id,
            action: "ecs:DeleteImage",
            resources: &resources,
            source_ip: None,
            now: app.now(),
        },
    )
    .expect("explains");
    assert!(text.contains("user/alice"), "{text}");
    assert!(text.contains("alice-policy (custom policy"), "{text}");
    assert!(
        text.contains("AliyunSTSAssumeRoleAccess (system policy"),
        "{text}"
    );
    assert!(text.contains("ecs:DeleteImage: ImplicitDeny"), "{text}");
    assert!(
        text.contains("matches none of Action [\"ecs:Describe*\"]"),
        "{text}"
    );
    let root = ecsim_server::explain_access(
        &app.state.store,
        &ecsim_server::ExplainQuestion {
            access_key_id: &app.root.key_id,
            action: "DeleteImage",
            resources: &[],
            source_ip: None,
            now: app.now(),
        },
    )
    .expect("explains");
    assert!(root.contains("Allow"), "{root}");
}
