//! STS: AssumeRole (identity and trust policies, session policy, duration), the temporary
//! credentials in V1 and V3, their expiry and token errors, and GetCallerIdentity
//! (spec ram-authorization §3.3, §3.7 rows 5–12, §4.1, §5).

use super::*;

fn trust_account(app: &TestApp) -> String {
    json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": [format!("acs:ram::{}:root", app.root.account_id)]}}]})
    .to_string()
}

/// Role `reader` (trusting the whole account) with AliyunECSReadOnlyAccess, and a user `alice`
/// allowed to assume roles.
async fn setup(app: &TestApp) -> Who {
    let root = Who::root(app);
    ram(app, &root, "CreateRole")
        .param("RoleName", "reader")
        .param("AssumeRolePolicyDocument", &trust_account(app))
        .param("MaxSessionDuration", "7200")
        .ok()
        .await;
    ram(app, &root, "AttachPolicyToRole")
        .param("PolicyType", "System")
        .param("PolicyName", "AliyunECSReadOnlyAccess")
        .param("RoleName", "reader")
        .ok()
        .await;
    let alice = user(app, "alice").await;
    attach_to_user(app, "System", "AliyunSTSAssumeRoleAccess", "alice").await;
    alice
}

fn role_arn(app: &TestApp, name: &str) -> String {
    format!("acs:ram::{}:role/{name}", app.root.account_id)
}

async fn assume(app: &TestApp, who: &Who, role: &str) -> (Who, Value) {
    let body = sts(app, who, "AssumeRole")
        .param("RoleArn", &role_arn(app, role))
        .param("RoleSessionName", "session-1")
        .ok()
        .await;
    let c = &body["Credentials"];
    (
        Who {
            key_id: str_of(&c["AccessKeyId"]),
            secret: str_of(&c["AccessKeySecret"]),
            token: Some(str_of(&c["SecurityToken"])),
        },
        body,
    )
}

#[tokio::test]
async fn assumed_role_credentials_describe_but_do_not_delete_in_v1_and_v3() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let alice = setup(&app).await;
    let (session, body) = assume(&app, &alice, "reader").await;
    assert!(session.key_id.starts_with("STS."));
    assert!(
        session
            .token
            .as_deref()
            .is_some_and(|t| t.starts_with("CAIS"))
    );
    let role_id = body["AssumedRoleUser"]["AssumedRoleId"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(role_id.ends_with(":session-1"), "{body}");
    assert_eq!(
        body["AssumedRoleUser"]["Arn"],
        format!("{}/session-1", role_arn(&app, "reader")).as_str()
    );
    let expiration = str_of(&body["Credentials"]["Expiration"]);
    assert_eq!(
        expiration,
        ecsim_core::clock::format_time(app.now() + 3_600_000)
    );

    for v1 in [false, true] {
        let call = if v1 {
            ecs_v1(&app, &session, "DescribeImages")
        } else {
            ecs(&app, &session, "DescribeImages")
        };
        let listed = call.region().param("ImageId", &image).send().await.ok();
        assert_eq!(listed["TotalCount"], 1, "v1={v1}");
        let delete = if v1 {
            ecs_v1(&app, &session, "DeleteImage")
        } else {
            ecs(&app, &session, "DeleteImage")
        };
        let denied = service_err(
            delete.region().param("ImageId", &image).send().await,
            403,
            "Forbidden.RAM",
        );
        let d = detail(
            &denied,
            "ecs:DeleteImage",
            "ImplicitDeny",
            "AccountLevelIdentityBasedPolicy",
        );
        assert_eq!(d["AuthPrincipalType"], "AssumedRoleUser");
        assert_eq!(d["AuthPrincipalDisplayName"], "reader:session-1");
    }
    // The RAM/STS signer (token headers signed) works too.
    let me = sts(&app, &session, "GetCallerIdentity").ok().await;
    assert_eq!(me["IdentityType"], "AssumedRoleUser");
    let me_v1 = sts(&app, &session, "GetCallerIdentity").v1().ok().await;
    assert_eq!(me_v1["PrincipalId"], role_id.as_str());
    assert!(app.describe_image(&image).await.is_some());
}

#[tokio::test]
async fn tokens_expire_and_bad_tokens_are_refused() {
    let app = TestApp::start();
    let alice = setup(&app).await;
    let (session, _) = assume(&app, &alice, "reader").await;
    let (other, _) = assume(&app, &alice, "reader").await;
    ecs(&app, &session, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
    let no_token = Who {
        token: None,
        ..session.clone()
    };
    ecs(&app, &no_token, "DescribeImages")
        .region()
        .send()
        .await
        .err(400, "MissingSecurityToken");
    let garbage = Who {
        token: Some("CAISnot-a-token".into()),
        ..session.clone()
    };
    ecs(&app, &garbage, "DescribeImages")
        .region()
        .send()
        .await
        .err(400, "InvalidSecurityToken.Malformed");
    let swapped = Who {
        token: other.token.clone(),
        ..session.clone()
    };
    ecs_v1(&app, &swapped, "DescribeImages")
        .region()
        .send()
        .await
        .err(400, "InvalidSecurityToken.MismatchWithAccessKey");
    ecs(
        &app,
        &Who {
            key_id: "STS.doesnotexist".into(),
            ..session.clone()
        },
        "DescribeImages",
    )
    .region()
    .send()
    .await
    .err(404, "InvalidAccessKeyId.NotFound");

    app.clock.advance(3_600_000 + 1_000);
    for v1 in [false, true] {
        let call = if v1 {
            ecs_v1(&app, &session, "DescribeImages")
        } else {
            ecs(&app, &session, "DescribeImages")
        };
        call.region().send().await.err_msg(
            400,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        );
    }
}

#[tokio::test]
async fn assume_role_is_authorized_by_identity_and_trust_policies() {
    let app = TestApp::start();
    let root = Who::root(&app);
    setup(&app).await;
    // Root accounts cannot assume roles.
    let body = service_err(
        sts(&app, &root, "AssumeRole")
            .param("RoleArn", &role_arn(&app, "reader"))
            .param("RoleSessionName", "s1")
            .send()
            .await,
        403,
        "NoPermission",
    );
    assert_eq!(
        body["Message"],
        "Roles may not be assumed by root accounts."
    );
    assert_eq!(body["HostId"], "sts.aliyuncs.com");
    // Without sts:AssumeRole in its own policies.
    let bob = user(&app, "bob").await;
    let body = service_err(
        sts(&app, &bob, "AssumeRole")
            .param("RoleArn", &role_arn(&app, "reader"))
            .param("RoleSessionName", "s1")
            .send()
            .await,
        403,
        "NoPermission",
    );
    assert_eq!(
        body["Message"],
        "You are not authorized to do this action. You should be authorized by RAM."
    );
    detail(
        &body,
        "sts:AssumeRole",
        "ImplicitDeny",
        "AccountLevelIdentityBasedPolicy",
    );
    // Allowed by its own policies, but the trust policy names someone else.
    ram(&app, &root, "CreateRole")
        .param("RoleName", "carols-role")
        .param(
            "AssumeRolePolicyDocument",
            &json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"RAM": [format!("acs:ram::{}:user/carol", app.root.account_id)]}}]})
            .to_string(),
        )
        .ok()
        .await;
    attach_to_user(&app, "System", "AliyunSTSAssumeRoleAccess", "bob").await;
    let body = service_err(
        sts(&app, &bob, "AssumeRole")
            .param("RoleArn", &role_arn(&app, "carols-role"))
            .param("RoleSessionName", "s1")
            .send()
            .await,
        403,
        "NoPermission",
    );
    detail(&body, "sts:AssumeRole", "ImplicitDeny", "AssumeRolePolicy");
    let carol = user(&app, "carol").await;
    attach_to_user(&app, "System", "AliyunSTSAssumeRoleAccess", "carol").await;
    assume(&app, &carol, "carols-role").await;
}

/// Parameters, then the expected status and code.
type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);

#[tokio::test]
async fn assume_role_parameters_and_their_errors() {
    let app = TestApp::start();
    let alice = setup(&app).await;
    let arn = role_arn(&app, "reader");
    let cases: [Case; 8] = [
        (
            &[
                ("RoleArn", "acs:ram::123:user/x"),
                ("RoleSessionName", "s1"),
            ],
            400,
            "InvalidParameter.RoleArn",
        ),
        (
            &[("RoleArn", &arn), ("RoleSessionName", "x")],
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            &[
                ("RoleArn", &arn),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "600"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            &[
                ("RoleArn", &arn),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "7201"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            &[
                ("RoleArn", &arn),
                ("RoleSessionName", "s1"),
                ("Policy", "{\"Version\":\"1\"}"),
            ],
            400,
            "InvalidParameter.PolicyGrammar",
        ),
        (
            &[
                ("RoleArn", &role_arn(&app, "nope")),
                ("RoleSessionName", "s1"),
            ],
            404,
            "EntityNotExist.Role",
        ),
        (&[("RoleSessionName", "s1")], 400, "MissingRoleArn"),
        (&[("RoleArn", &arn)], 400, "MissingRoleSessionName"),
    ];
    for (params, status, code) in cases {
        let mut call = sts(&app, &alice, "AssumeRole");
        for (k, v) in params {
            call = call.param(k, v);
        }
        service_err(call.send().await, status, code);
    }
    let big = doc(json!([allow(&format!("ecs:{}", "D".repeat(1100)), "*")]));
    service_err(
        sts(&app, &alice, "AssumeRole")
            .param("RoleArn", &arn)
            .param("RoleSessionName", "s1")
            .param("Policy", &big)
            .send()
            .await,
        400,
        "InvalidParameter.PolicySize",
    );
    let long = sts(&app, &alice, "AssumeRole")
        .param("RoleArn", &arn)
        .param("RoleSessionName", "s1")
        .param("DurationSeconds", "7200")
        .ok()
        .await;
    assert_eq!(
        str_of(&long["Credentials"]["Expiration"]),
        ecsim_core::clock::format_time(app.now() + 7_200_000)
    );
}

#[tokio::test]
async fn a_session_policy_can_only_narrow() {
    let app = TestApp::start();
    let root = Who::root(&app);
    let alice = setup(&app).await;
    app.run_instance(X86_IMAGE).await;
    ram(&app, &root, "AttachPolicyToRole")
        .param("PolicyType", "System")
        .param("PolicyName", "AdministratorAccess")
        .param("RoleName", "reader")
        .ok()
        .await;
    let body = sts(&app, &alice, "AssumeRole")
        .param("RoleArn", &role_arn(&app, "reader"))
        .param("RoleSessionName", "narrow")
        .param("Policy", &doc(json!([allow("ecs:DescribeImages", "*")])))
        .ok()
        .await;
    let c = &body["Credentials"];
    let session = Who {
        key_id: str_of(&c["AccessKeyId"]),
        secret: str_of(&c["AccessKeySecret"]),
        token: Some(str_of(&c["SecurityToken"])),
    };
    ecs(&app, &session, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
    // The role may see instances (AdministratorAccess), the session may not: an empty list.
    let listed = ecs(&app, &session, "DescribeInstances")
        .region()
        .send()
        .await
        .ok();
    assert_eq!(listed["TotalCount"], 0);
    let full = app.call("DescribeInstances").region().send().await.ok();
    assert_eq!(full["TotalCount"], 1);
}

#[tokio::test]
async fn session_policy_denials_say_so() {
    let app = TestApp::start();
    let root = Who::root(&app);
    let alice = setup(&app).await;
    ram(&app, &root, "AttachPolicyToRole")
        .param("PolicyType", "System")
        .param("PolicyName", "AdministratorAccess")
        .param("RoleName", "reader")
        .ok()
        .await;
    let body = sts(&app, &alice, "AssumeRole")
        .param("RoleArn", &role_arn(&app, "reader"))
        .param("RoleSessionName", "narrow")
        .param("Policy", &doc(json!([allow("ecs:Describe*", "*")])))
        .ok()
        .await;
    let c = &body["Credentials"];
    let session = Who {
        key_id: str_of(&c["AccessKeyId"]),
        secret: str_of(&c["AccessKeySecret"]),
        token: Some(str_of(&c["SecurityToken"])),
    };
    ecs(&app, &session, "DescribeImages")
        .region()
        .send()
        .await
        .ok();
    let denied = service_err(
        ecs(&app, &session, "DeleteImage")
            .region()
            .param("ImageId", "m-whatever")
            .send()
            .await,
        403,
        "Forbidden.RAM",
    );
    detail(&denied, "ecs:DeleteImage", "ImplicitDeny", "SessionPolicy");
    // RAM calls the role could make are cut by the session policy as well.
    service_err(
        ram(&app, &session, "ListUsers").send().await,
        403,
        "NoPermission",
    );
}

#[tokio::test]
async fn deleting_the_role_ends_its_sessions() {
    let app = TestApp::start();
    let root = Who::root(&app);
    let alice = setup(&app).await;
    let (session, _) = assume(&app, &alice, "reader").await;
    ram(&app, &root, "DetachPolicyFromRole")
        .param("PolicyType", "System")
        .param("PolicyName", "AliyunECSReadOnlyAccess")
        .param("RoleName", "reader")
        .ok()
        .await;
    service_err(
        ecs(&app, &session, "DescribeImages").region().send().await,
        403,
        "Forbidden.RAM",
    );
    ram(&app, &root, "DeleteRole")
        .param("RoleName", "reader")
        .ok()
        .await;
    ecs(&app, &session, "DescribeImages")
        .region()
        .send()
        .await
        .err(404, "InvalidAccessKeyId.NotFound");
}

#[tokio::test]
async fn get_caller_identity_for_each_kind_of_caller() {
    let app = TestApp::start();
    let account = app.root.account_id.to_string();
    let root = sts(&app, &Who::root(&app), "GetCallerIdentity").ok().await;
    assert_eq!(root["IdentityType"], "Account");
    assert_eq!(root["AccountId"], account.as_str());
    assert_eq!(root["Arn"], format!("acs:ram::{account}:root").as_str());
    let alice = setup(&app).await;
    let me = sts(&app, &alice, "GetCallerIdentity").ok().await;
    assert_eq!(me["IdentityType"], "RAMUser");
    assert_eq!(me["Arn"], format!("acs:ram::{account}:user/alice").as_str());
    let (session, _) = assume(&app, &alice, "reader").await;
    let s = sts(&app, &session, "GetCallerIdentity").ok().await;
    assert_eq!(
        s["Arn"],
        format!("acs:ram::{account}:role/reader/session-1").as_str()
    );
    assert!(s["RoleId"].is_string());
}
