//! The explain mode: per-resource, per-policy, per-statement traces with reasons.

use ecsim_ram::{
    Outcome, PolicyDocument, PolicyRef, PolicySet, PolicyType, RequestContext, ecs_arn, explain,
};

fn doc(statements: &str) -> PolicyDocument {
    PolicyDocument::parse_identity(&format!(r#"{{"Version":"1","Statement":[{statements}]}}"#))
        .expect("valid test fixture")
}

#[test]
fn explains_why_nothing_allowed() {
    let describe = doc(r#"{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}"#);
    let scoped = doc(
        r#"{"Effect":"Allow","Action":"ecs:DeleteImage","Resource":"acs:ecs:cn-shanghai:*:image/*"},
           {"Effect":"Allow","Action":"ecs:DeleteImage","Resource":"*",
            "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8"]},"Bool":{"acs:SecureTransport":"true"}}}"#,
    );
    let refs = [
        PolicyRef::new("describe-only", &describe),
        PolicyRef::new("scoped", &scoped),
    ];
    let image = ecs_arn("cn-hangzhou", "1234567890123456", "image/m-bp1abc");
    let ctx = RequestContext::new("ecs:DeleteImage")
        .with_resource(image.clone())
        .with_source_ip("203.0.113.7".parse().unwrap())
        .with_secure_transport(true);
    let e = explain(&PolicySet::identity(&refs), &ctx);
    assert_eq!(e.decision.outcome, Outcome::ImplicitDeny);
    assert_eq!(e.resources.len(), 1);
    let r = &e.resources[0];
    assert_eq!(r.resource, image);
    assert_eq!(r.outcome, Outcome::ImplicitDeny);
    assert_eq!(r.policy_type, PolicyType::AccountLevelIdentityBasedPolicy);
    assert_eq!(r.policies.len(), 2);

    let s = &r.policies[0].statements[0];
    assert!(!s.applies && !s.action_matched && s.resource_matched);
    assert_eq!(
        s.reasons,
        vec![r#"action ecs:DeleteImage matches none of Action ["ecs:Describe*"]"#]
    );

    let s = &r.policies[1].statements[0];
    assert!(!s.applies && s.action_matched && !s.resource_matched);
    assert!(
        s.reasons[0].starts_with("resource acs:ecs:cn-hangzhou"),
        "{:?}",
        s.reasons
    );

    let s = &r.policies[1].statements[1];
    assert!(!s.applies && s.action_matched && s.resource_matched);
    assert_eq!(s.conditions.len(), 2);
    assert!(!s.conditions[0].satisfied);
    assert!(s.conditions[1].satisfied);
    assert_eq!(s.reasons.len(), 1);
    assert!(s.reasons[0].contains("203.0.113.7"), "{}", s.reasons[0]);
    assert!(s.reasons[0].contains("10.0.0.0/8"), "{}", s.reasons[0]);

    let text = e.to_string();
    assert!(
        text.starts_with("ecs:DeleteImage: ImplicitDeny (AccountLevelIdentityBasedPolicy)\n"),
        "{text}"
    );
    assert!(
        text.contains("policy describe-only (AccountLevelIdentityBasedPolicy)"),
        "{text}"
    );
    assert!(
        text.contains(
            "statement 0 Allow: does not apply: action ecs:DeleteImage matches none of Action"
        ),
        "{text}"
    );
}

#[test]
fn explains_absent_keys_and_session_stage() {
    let session = doc(r#"{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}"#);
    let role = doc(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*"},
           {"Effect":"Deny","Action":"ecs:*","Resource":"*","Condition":{"StringNotEquals":{"acs:SourceVpc":"vpc-1"}}}"#);
    let refs = [PolicyRef::new("role", &role)];
    let set = PolicySet::identity(&refs).with_session(PolicyRef::new("session", &session));
    let ctx = RequestContext::new("ecs:DeleteImage").with_resource(ecs_arn(
        "cn-hangzhou",
        "1",
        "image/m-1",
    ));
    let e = explain(&set, &ctx);
    assert_eq!(e.decision.outcome, Outcome::ImplicitDeny);
    assert_eq!(e.decision.policy_type, Some(PolicyType::SessionPolicy));
    let r = &e.resources[0];
    assert_eq!(r.policy_type, PolicyType::SessionPolicy);
    assert_eq!(r.policies[0].policy, "session");
    assert_eq!(r.policies[0].policy_type, PolicyType::SessionPolicy);
    // The identity stage is traced too, even though the session stage decided.
    let deny = &r.policies[1].statements[1];
    assert!(deny.applies);
    assert!(deny.reasons.is_empty());
    assert!(
        deny.conditions[0].detail.contains("absent"),
        "{}",
        deny.conditions[0].detail
    );
    assert!(e.to_string().contains("statement 1 Deny: applies"));
}

#[test]
fn explains_an_allow_and_multiple_resources() {
    let p = doc(
        r#"{"Effect":"Allow","Action":"ecs:DescribeImages","Resource":"acs:ecs:*:*:image/m-a*"}"#,
    );
    let refs = [PolicyRef::new("p", &p)];
    let ctx = RequestContext::new("ecs:DescribeImages")
        .with_resource(ecs_arn("r", "1", "image/m-a1"))
        .with_resource(ecs_arn("r", "1", "image/m-b1"));
    let e = explain(&PolicySet::identity(&refs), &ctx);
    assert_eq!(e.resources[0].outcome, Outcome::Allow);
    assert_eq!(e.resources[1].outcome, Outcome::ImplicitDeny);
    assert_eq!(e.decision.outcome, Outcome::ImplicitDeny);
    assert_eq!(
        e.decision.denied_resource.as_deref(),
        Some("acs:ecs:r:1:image/m-b1")
    );
    let no_resources = explain(
        &PolicySet::identity(&refs),
        &RequestContext::new("ecs:DescribeImages"),
    );
    assert!(
        no_resources
            .to_string()
            .contains("no resource to authorize")
    );
}
