//! The worked examples of spec §3.8 and the decision table of §3.7, one test each.
//!
//! Context for all: account 1234567890123456, caller RAM user alice, call
//! `DeleteImage RegionId=cn-hangzhou ImageId=m-bp1abc`, source IP 203.0.113.7 unless stated.
//! Examples 17 (root AccessKey bypasses policies) and 18 (inactive AccessKey) are decided by the
//! server before the engine runs; the engine has no notion of callers or keys.

use ecsim_ram::{
    Decision, Effect, MatchedStatement, Outcome, PolicyDocument, PolicyRef, PolicySet, PolicyType,
    RequestContext, TrustPrincipal, authorize_assume_role, ecs_arn, evaluate, evaluate_trust,
    explain, system_policies,
};

const ACCOUNT: &str = "1234567890123456";

fn doc(statements: &str) -> PolicyDocument {
    PolicyDocument::parse_identity(&format!(r#"{{"Version":"1","Statement":[{statements}]}}"#))
        .expect("valid test fixture")
}

fn image(id: &str) -> String {
    ecs_arn("cn-hangzhou", ACCOUNT, &format!("image/{id}"))
}

/// The default request: DeleteImage m-bp1abc from 203.0.113.7.
fn delete_image() -> RequestContext {
    RequestContext::new("ecs:DeleteImage")
        .with_resource(image("m-bp1abc"))
        .with_source_ip("203.0.113.7".parse().expect("valid test fixture"))
        .with_current_time(time::macros::datetime!(2025-06-01 08:00:00 UTC))
        .with_secure_transport(true)
        .with_access_id("LTAI5tAliceKey000000000")
        .with_principal_arn(format!("acs:ram::{ACCOUNT}:user/alice"))
}

fn decide(docs: &[&PolicyDocument], ctx: &RequestContext) -> Decision {
    let names: Vec<String> = (0..docs.len()).map(|i| format!("p{i}")).collect();
    let refs: Vec<PolicyRef<'_>> = docs
        .iter()
        .zip(&names)
        .map(|(d, n)| PolicyRef::new(n, d))
        .collect();
    let decision = evaluate(&PolicySet::identity(&refs), ctx);
    // The explain mode always agrees with the hot path.
    assert_eq!(explain(&PolicySet::identity(&refs), ctx).decision, decision);
    decision
}

fn matched(policy: &str, statement_index: usize, effect: Effect) -> MatchedStatement {
    MatchedStatement {
        policy: policy.to_owned(),
        statement_index,
        effect,
    }
}

#[test]
fn ex01_no_policy_is_implicit_deny() {
    let d = decide(&[], &delete_image());
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.no_permission_type(), Some("ImplicitDeny"));
    assert_eq!(
        d.policy_type,
        Some(PolicyType::AccountLevelIdentityBasedPolicy)
    );
    assert_eq!(
        d.denied_resource.as_deref(),
        Some(image("m-bp1abc").as_str())
    );
    assert!(d.matched.is_empty());
}

#[test]
fn ex02_allow_ecs_star() {
    let p = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*"}"#);
    let d = decide(&[&p], &delete_image());
    assert_eq!(d.outcome, Outcome::Allow);
    assert!(d.is_allowed());
    assert_eq!(d.policy_type, None);
    assert_eq!(d.no_permission_type(), None);
    assert_eq!(d.matched, vec![matched("p0", 0, Effect::Allow)]);
}

#[test]
fn ex03_deny_overrides_allow() {
    let allow = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*"}"#);
    let deny = doc(r#"{"Effect":"Deny","Action":"ecs:DeleteImage","Resource":"*"}"#);
    let d = decide(&[&allow, &deny], &delete_image());
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(d.no_permission_type(), Some("ExplicitDeny"));
    assert_eq!(
        d.policy_type.map(PolicyType::as_str),
        Some("AccountLevelIdentityBasedPolicy")
    );
    assert_eq!(d.matched, vec![matched("p1", 0, Effect::Deny)]);
}

#[test]
fn ex04_region_mismatch() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DeleteImage","Resource":"acs:ecs:cn-shanghai:*:image/*"}"#,
    );
    assert_eq!(
        decide(&[&p], &delete_image()).outcome,
        Outcome::ImplicitDeny
    );
}

#[test]
fn ex05_wildcards_in_action_and_relative_id() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:Delete*","Resource":"acs:ecs:*:1234567890123456:image/m-bp1*"}"#,
    );
    assert_eq!(decide(&[&p], &delete_image()).outcome, Outcome::Allow);
}

#[test]
fn ex06_account_mismatch() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DeleteImage","Resource":"acs:ecs:*:9999999999999999:image/*"}"#,
    );
    assert_eq!(
        decide(&[&p], &delete_image()).outcome,
        Outcome::ImplicitDeny
    );
}

#[test]
fn ex07_actions_are_case_insensitive() {
    let p = doc(r#"{"Effect":"Allow","Action":"ECS:deleteimage","Resource":"*"}"#);
    assert_eq!(decide(&[&p], &delete_image()).outcome, Outcome::Allow);
}

#[test]
fn ex08_not_action() {
    let p = doc(r#"{"Effect":"Allow","NotAction":"ram:*","Resource":"*"}"#);
    assert_eq!(decide(&[&p], &delete_image()).outcome, Outcome::Allow);
    let create_user =
        RequestContext::new("ram:CreateUser").with_resource(format!("acs:ram:*:{ACCOUNT}:user/*"));
    assert_eq!(decide(&[&p], &create_user).outcome, Outcome::ImplicitDeny);
}

#[test]
fn ex09_ip_condition_values_are_ored_and_none_match() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DeleteImage","Resource":"*",
            "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}"#,
    );
    assert_eq!(
        decide(&[&p], &delete_image()).outcome,
        Outcome::ImplicitDeny
    );
}

#[test]
fn ex10_operators_are_anded() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DeleteImage","Resource":"*",
            "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]},
                         "DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}}"#,
    );
    let from_inside = RequestContext::new("ecs:DeleteImage")
        .with_resource(image("m-bp1abc"))
        .with_source_ip("10.1.2.3".parse().unwrap())
        .with_current_time(time::macros::datetime!(2025-06-01 08:00:00 UTC));
    assert_eq!(decide(&[&p], &from_inside).outcome, Outcome::Allow);
    // Either operator false → the statement does not apply.
    let too_late = RequestContext::new("ecs:DeleteImage")
        .with_resource(image("m-bp1abc"))
        .with_source_ip("10.1.2.3".parse().unwrap())
        .with_current_time(time::macros::datetime!(2031-01-01 00:00:00 UTC));
    assert_eq!(decide(&[&p], &too_late).outcome, Outcome::ImplicitDeny);
}

#[test]
fn ex11_negated_operator_with_absent_key_denies() {
    let allow = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*"}"#);
    let deny = doc(r#"{"Effect":"Deny","Action":"ecs:*","Resource":"*",
            "Condition":{"StringNotEquals":{"acs:SourceVpc":"vpc-bp1x"}}}"#);
    let d = decide(&[&allow, &deny], &delete_image());
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    // Through the named VPC the Deny does not apply.
    let via_vpc = delete_image().with_key("acs:SourceVpc", "vpc-bp1x");
    assert_eq!(decide(&[&allow, &deny], &via_vpc).outcome, Outcome::Allow);
}

#[test]
fn ex12_group_policies_count() {
    // The server passes user ∪ group policies; alice has none, her group `ops` has this one.
    let group = doc(r#"{"Effect":"Allow","Action":"ecs:*Image*","Resource":"*"}"#);
    let refs = [PolicyRef::new("ops:ImageAdmin", &group)];
    let d = evaluate(&PolicySet::identity(&refs), &delete_image());
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.matched[0].policy, "ops:ImageAdmin");
}

#[test]
fn ex13_all_resources_action_needs_resource_star() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DescribeImageFromFamily","Resource":"acs:ecs:*:*:image/*"}"#,
    );
    let ctx = RequestContext::new("ecs:DescribeImageFromFamily").with_resource("*");
    assert_eq!(decide(&[&p], &ctx).outcome, Outcome::ImplicitDeny);
    let star = doc(r#"{"Effect":"Allow","Action":"ecs:DescribeImageFromFamily","Resource":"*"}"#);
    assert_eq!(decide(&[&star], &ctx).outcome, Outcome::Allow);
    let all = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:*:*:*"}"#);
    assert_eq!(decide(&[&all], &ctx).outcome, Outcome::ImplicitDeny);
}

#[test]
fn ex14_session_policy_must_also_allow() {
    let role = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*"}"#);
    let session = PolicyDocument::parse_session(
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}"#,
    )
    .unwrap();
    let refs = [PolicyRef::new("ImgAdminPolicy", &role)];
    let set = PolicySet::identity(&refs).with_session(PolicyRef::new("session", &session));
    let d = evaluate(&set, &delete_image());
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.policy_type, Some(PolicyType::SessionPolicy));
    assert_eq!(explain(&set, &delete_image()).decision, d);
    // The session policy allows DescribeImages; the role does too.
    let describe = RequestContext::new("ecs:DescribeImages").with_resource(ecs_arn(
        "cn-hangzhou",
        ACCOUNT,
        "image/*",
    ));
    let d = evaluate(&set, &describe);
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(
        d.matched,
        vec![
            matched("session", 0, Effect::Allow),
            matched("ImgAdminPolicy", 0, Effect::Allow)
        ]
    );
}

#[test]
fn ex15_access_id_sts_prefix() {
    let p = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*",
            "Condition":{"StringLike":{"acs:AccessId":"STS.*"}}}"#);
    let sts = RequestContext::new("ecs:DeleteImage")
        .with_resource(image("m-bp1abc"))
        .with_access_id("STS.NKKJ4fxwXFRPSA1RpHM7UN1eB");
    assert_eq!(decide(&[&p], &sts).outcome, Outcome::Allow);
    // A long-term key does not match.
    assert_eq!(
        decide(&[&p], &delete_image()).outcome,
        Outcome::ImplicitDeny
    );
}

#[test]
fn ex16_optional_resource_must_be_covered() {
    let p =
        doc(r#"{"Effect":"Allow","Action":"ecs:CreateImage","Resource":"acs:ecs:*:*:image/*"}"#);
    let ctx = RequestContext::new("ecs:CreateImage")
        .with_resource(image("*"))
        .with_resource(ecs_arn("cn-hangzhou", ACCOUNT, "instance/i-bp1x"));
    let d = decide(&[&p], &ctx);
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(
        d.denied_resource.as_deref(),
        Some("acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1x")
    );
    // Without InstanceId only image/* is authorized.
    let no_instance = RequestContext::new("ecs:CreateImage").with_resource(image("*"));
    assert_eq!(decide(&[&p], &no_instance).outcome, Outcome::Allow);
}

#[test]
fn literal_image_star_is_not_matched_by_a_specific_image() {
    // §3.6: CreateImage's `image/*` is only matched by patterns that glob to `*` there.
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:CreateImage","Resource":"acs:ecs:*:*:image/m-123"}"#,
    );
    let ctx = RequestContext::new("ecs:CreateImage").with_resource(image("*"));
    assert_eq!(decide(&[&p], &ctx).outcome, Outcome::ImplicitDeny);
}

#[test]
fn describe_images_with_ids_denies_the_whole_call_on_one_failure() {
    // Open question 6: authorize each ImageId; any failure denies the call.
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DescribeImages","Resource":"acs:ecs:*:*:image/m-a*"}"#,
    );
    let ctx = RequestContext::new("ecs:DescribeImages")
        .with_resource(image("m-a1"))
        .with_resource(image("m-b2"))
        .with_resource(image("m-a3"));
    let d = decide(&[&p], &ctx);
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.denied_resource, Some(image("m-b2")));
}

#[test]
fn explicit_deny_on_any_resource_beats_implicit_deny_on_an_earlier_one() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DescribeImages","Resource":"acs:ecs:*:*:image/m-a*"},
           {"Effect":"Deny","Action":"ecs:DescribeImages","Resource":"acs:ecs:*:*:image/m-c*"}"#,
    );
    let ctx = RequestContext::new("ecs:DescribeImages")
        .with_resource(image("m-b1"))
        .with_resource(image("m-c1"));
    let d = decide(&[&p], &ctx);
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(d.denied_resource, Some(image("m-c1")));
    assert_eq!(d.matched, vec![matched("p0", 1, Effect::Deny)]);
}

#[test]
fn no_resource_fails_closed() {
    let p = doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
    let ctx = RequestContext::new("ecs:DescribeImages");
    let d = decide(&[&p], &ctx);
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(d.denied_resource, None);
}

#[test]
fn resource_tag_condition() {
    let p = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*",
            "Condition":{"StringEquals":{"acs:ResourceTag/env":"dev"}}}"#);
    let dev =
        RequestContext::new("ecs:DeleteImage").with_tagged_resource(image("m-1"), [("env", "dev")]);
    let prod = RequestContext::new("ecs:DeleteImage")
        .with_tagged_resource(image("m-2"), [("env", "prod")]);
    let untagged = RequestContext::new("ecs:DeleteImage").with_resource(image("m-3"));
    assert_eq!(decide(&[&p], &dev).outcome, Outcome::Allow);
    assert_eq!(decide(&[&p], &prod).outcome, Outcome::ImplicitDeny);
    assert_eq!(decide(&[&p], &untagged).outcome, Outcome::ImplicitDeny);
}

// ----- Decision table §3.7 rows not covered above -----

fn session_set<'a>(session: &'a PolicyDocument, role: &'a [PolicyRef<'a>]) -> PolicySet<'a> {
    PolicySet::identity(role).with_session(PolicyRef::new("session", session))
}

#[test]
fn table_row5_session_deny() {
    let session = doc(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecs:Delete*","Resource":"*"}"#,
    );
    let role_doc = doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
    let role = [PolicyRef::new("role", &role_doc)];
    let d = evaluate(&session_set(&session, &role), &delete_image());
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(d.policy_type, Some(PolicyType::SessionPolicy));
    assert_eq!(d.matched, vec![matched("session", 1, Effect::Deny)]);
}

#[test]
fn table_row7_session_allows_identity_denies() {
    let session = doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
    let role_doc = doc(r#"{"Effect":"Deny","Action":"ecs:*","Resource":"*"}"#);
    let role = [PolicyRef::new("role", &role_doc)];
    let d = evaluate(&session_set(&session, &role), &delete_image());
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(
        d.policy_type,
        Some(PolicyType::AccountLevelIdentityBasedPolicy)
    );
    assert_eq!(d.matched, vec![matched("role", 0, Effect::Deny)]);
}

#[test]
fn table_row9_session_allows_identity_silent() {
    let session = doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
    let role_doc = doc(r#"{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}"#);
    let role = [PolicyRef::new("role", &role_doc)];
    let d = evaluate(&session_set(&session, &role), &delete_image());
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(
        d.policy_type,
        Some(PolicyType::AccountLevelIdentityBasedPolicy)
    );
}

fn trust(principal: &str) -> PolicyDocument {
    PolicyDocument::parse_trust(&format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{principal}}}]}}"#
    ))
    .expect("valid test fixture")
}

fn assume_role_ctx() -> RequestContext {
    RequestContext::new("sts:AssumeRole")
        .with_resource(format!("acs:ram:*:{ACCOUNT}:role/imgadmin"))
}

#[test]
fn table_row10_assume_role_allowed() {
    let t = trust(r#"{"RAM":["acs:ram::1234567890123456:root"]}"#);
    let sts = system_policies::find("AliyunSTSAssumeRoleAccess").unwrap();
    let refs = [PolicyRef::new(sts.name(), sts.parsed())];
    let alice = TrustPrincipal::ram_user(ACCOUNT, "alice");
    let d = authorize_assume_role(
        &PolicySet::identity(&refs),
        PolicyRef::new("ImgAdmin", &t),
        &alice,
        &assume_role_ctx(),
    );
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(
        d.matched,
        vec![
            matched("AliyunSTSAssumeRoleAccess", 0, Effect::Allow),
            matched("ImgAdmin", 0, Effect::Allow)
        ]
    );
}

#[test]
fn table_row11_trust_does_not_name_caller() {
    let t = trust(r#"{"RAM":["acs:ram::1234567890123456:user/bob"]}"#);
    let sts = system_policies::find("AliyunSTSAssumeRoleAccess").unwrap();
    let refs = [PolicyRef::new(sts.name(), sts.parsed())];
    let alice = TrustPrincipal::ram_user(ACCOUNT, "alice");
    let d = authorize_assume_role(
        &PolicySet::identity(&refs),
        PolicyRef::new("ImgAdmin", &t),
        &alice,
        &assume_role_ctx(),
    );
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(
        d.policy_type.map(PolicyType::as_str),
        Some("AssumeRolePolicy")
    );
    // Without sts:AssumeRole in the identity policies the identity stage is reported first.
    let t_ok = trust(r#"{"RAM":"acs:ram::1234567890123456:root"}"#);
    let d = authorize_assume_role(
        &PolicySet::identity(&[]),
        PolicyRef::new("ImgAdmin", &t_ok),
        &alice,
        &assume_role_ctx(),
    );
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
    assert_eq!(
        d.policy_type,
        Some(PolicyType::AccountLevelIdentityBasedPolicy)
    );
}

#[test]
fn trust_explicit_deny_wins() {
    let t = PolicyDocument::parse_trust(
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1234567890123456:root"}},
            {"Effect":"Deny","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1234567890123456:user/alice"}}]}"#,
    )
    .unwrap();
    let admin = system_policies::find("AdministratorAccess").unwrap();
    let refs = [PolicyRef::new(admin.name(), admin.parsed())];
    let set = PolicySet::identity(&refs);
    let alice = TrustPrincipal::ram_user(ACCOUNT, "alice");
    let bob = TrustPrincipal::ram_user(ACCOUNT, "bob");
    let tr = PolicyRef::new("ImgAdmin", &t);
    let d = authorize_assume_role(&set, tr, &alice, &assume_role_ctx());
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(d.policy_type, Some(PolicyType::AssumeRolePolicy));
    assert_eq!(
        authorize_assume_role(&set, tr, &bob, &assume_role_ctx()).outcome,
        Outcome::Allow
    );
}

#[test]
fn trust_service_federated_other_account_and_conditions() {
    let t = PolicyDocument::parse_trust(
        r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs.aliyuncs.com"]}},
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Federated":"acs:ram::1234567890123456:saml-provider/idp"}},
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::5555555555555555:root"},
             "Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}]}"#,
    )
    .unwrap();
    let r = PolicyRef::new("role", &t);
    let ctx = assume_role_ctx();
    let ok = |p: &TrustPrincipal, c: &RequestContext| evaluate_trust(r, p, c).outcome;
    assert_eq!(
        ok(&TrustPrincipal::Service("ecs.aliyuncs.com".into()), &ctx),
        Outcome::Allow
    );
    assert_eq!(
        ok(&TrustPrincipal::Service("oss.aliyuncs.com".into()), &ctx),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        ok(
            &TrustPrincipal::Federated("acs:ram::1234567890123456:saml-provider/idp".into()),
            &ctx
        ),
        Outcome::Allow
    );
    let other = TrustPrincipal::ram_role("5555555555555555", "ci");
    assert_eq!(ok(&other, &ctx), Outcome::ImplicitDeny);
    assert_eq!(
        ok(&other, &ctx.clone().with_key("sts:ExternalId", "abc")),
        Outcome::Allow
    );
    // A different action is not covered.
    let other_action = RequestContext::new("sts:AssumeRoleWithSAML");
    assert_eq!(
        ok(
            &TrustPrincipal::Service("ecs.aliyuncs.com".into()),
            &other_action
        ),
        Outcome::ImplicitDeny
    );
    // Identity policies never name principals, so they never satisfy a trust check.
    let admin = system_policies::find("AdministratorAccess").unwrap();
    assert_eq!(
        evaluate_trust(
            PolicyRef::new("admin", admin.parsed()),
            &TrustPrincipal::Service("ecs.aliyuncs.com".into()),
            &ctx
        )
        .outcome,
        Outcome::ImplicitDeny
    );
}

#[test]
fn system_policies_behave_as_named() {
    let get = |n: &str| system_policies::find(n).unwrap().parsed();
    let check = |name: &str, action: &str, resource: &str| {
        let refs = [PolicyRef::new(name, get(name))];
        evaluate(
            &PolicySet::identity(&refs),
            &RequestContext::new(action).with_resource(resource),
        )
        .outcome
    };
    let img = image("m-1");
    assert_eq!(
        check("AdministratorAccess", "ram:CreateUser", "*"),
        Outcome::Allow
    );
    assert_eq!(
        check("ReadOnlyAccess", "ecs:DescribeImages", &img),
        Outcome::Allow
    );
    assert_eq!(
        check("ReadOnlyAccess", "ram:ListUsers", "*"),
        Outcome::Allow
    );
    assert_eq!(
        check("ReadOnlyAccess", "ecs:DeleteImage", &img),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        check("AliyunECSFullAccess", "ecs:DeleteImage", &img),
        Outcome::Allow
    );
    assert_eq!(
        check("AliyunECSFullAccess", "ram:CreateUser", "*"),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        check("AliyunECSReadOnlyAccess", "ecs:DescribeImages", &img),
        Outcome::Allow
    );
    assert_eq!(
        check("AliyunECSReadOnlyAccess", "ecs:ListTagResources", "*"),
        Outcome::Allow
    );
    assert_eq!(
        check("AliyunECSReadOnlyAccess", "ecs:DeleteImage", &img),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        check("AliyunRAMReadOnlyAccess", "ram:GetUser", "*"),
        Outcome::Allow
    );
    assert_eq!(
        check("AliyunRAMReadOnlyAccess", "ram:CreateUser", "*"),
        Outcome::ImplicitDeny
    );
}
