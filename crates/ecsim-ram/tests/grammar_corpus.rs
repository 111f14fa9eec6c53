//! Accept/reject corpus for the policy grammar (spec §1, §1.7, §2): many small documents, each
//! with the expected outcome and, for rejections, the error code and the start of the message.

use ecsim_ram::{PolicyDocument, PolicyKind};

const MALFORMED: &str = "MalformedPolicyDocument";

/// Wraps one identity statement body.
fn stmt(body: &str) -> String {
    format!(r#"{{"Version":"1","Statement":[{{{body}}}]}}"#)
}

fn trust_stmt(body: &str) -> String {
    format!(r#"{{"Version":"1","Statement":[{{{body}}}]}}"#)
}

#[track_caller]
fn accepts(kind: PolicyKind, text: &str) {
    if let Err(e) = PolicyDocument::parse(text, kind) {
        panic!("expected {kind:?} to accept {text}\n got {e}");
    }
}

#[track_caller]
fn rejects(kind: PolicyKind, text: &str, code: &str, message_prefix: &str) {
    match PolicyDocument::parse(text, kind) {
        Ok(_) => panic!("expected {kind:?} to reject {text}"),
        Err(e) => {
            assert_eq!(e.code(), code, "{text}: {e}");
            assert!(
                e.message().starts_with(message_prefix),
                "{text}: message {:?} does not start with {message_prefix:?}",
                e.message()
            );
            assert_eq!(e.http_status(), 400);
        }
    }
}

#[test]
fn identity_accepts() {
    let ok = [
        stmt(r#""Effect":"Allow","Action":"ecs:DeleteImage","Resource":"*""#),
        stmt(r#""Effect":"Deny","Action":["ecs:DeleteImage","ecs:CreateImage"],"Resource":["*"]"#),
        stmt(r#""Effect":"Allow","Action":"*","Resource":"*""#),
        stmt(r#""Effect":"Allow","Action":"*:Describe*","Resource":"*""#),
        stmt(r#""Effect":"Allow","Action":"ecs:*Image*","Resource":"acs:ecs:*:*:image/*""#),
        stmt(r#""Effect":"Allow","Action":"ecs:Describe?mages","Resource":"acs:ecs:cn-hangzhou:1234567890123456:image/m-bp1abc""#),
        stmt(r#""Effect":"Allow","NotAction":"ram:*","Resource":"*""#),
        stmt(r#""Effect":"Deny","NotAction":["ecs:Describe*","ecs:List*"],"Resource":"*""#),
        stmt(r#""Effect":"Allow","Action":"ecs:NoSuchApi","Resource":"*""#),
        stmt(r#""Effect":"Allow","Action":"ECS:deleteimage","Resource":"*""#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"acs:*:*cn-beijing*:*:*""#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"ACS:ECS:*:*:*""#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:*""#),
        stmt(r#""Sid":"VisualEditor0","Effect":"Allow","Action":"ecs:*","Resource":"*""#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.1","2001:db8::/32"]}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":"203.0.113.7"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":true}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":["false"]}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"DateGreaterThanEquals":{"acs:CurrentTime":"2019-08-12T18:00:00+08:00"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"NumericLessThan":{"ecs:Count":"10"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"NumericEquals":{"ecs:Count":[10, "2.5", -1]}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:ResourceTag/env":"prod","ecs:tag/team":["a","b"]}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringLike":{"acs:AccessId":"STS.*"},"StringNotEquals":{"acs:SourceVpc":"vpc-1"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"acs:UserAgent":"x"},"StringNotEqualsIgnoreCase":{"acs:Referer":"y"},"StringNotLike":{"acs:PrincipalARN":"*:role/*"}}"#),
        stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"DateEquals":{"acs:CurrentTime":"2030-01-01"}}"#),
        // Element order inside the statement does not matter.
        stmt(r#""Resource":"*","Action":"ecs:*","Effect":"Allow""#),
        // Several statements; whitespace anywhere.
        "{ \"Statement\" : [ {\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"},\n\t{\"Effect\":\"Deny\",\"Action\":\"ecs:Delete*\",\"Resource\":\"*\"} ] , \"Version\" : \"1\" }\n".to_owned(),
    ];
    for text in &ok {
        accepts(PolicyKind::Identity, text);
        accepts(PolicyKind::Session, text);
    }
}

#[test]
fn identity_rejects() {
    let m = MALFORMED;
    let cases: Vec<(String, &str)> = vec![
        // JSON syntax.
        ("".into(), "Invalid JSON syntax"),
        ("{".into(), "Invalid JSON syntax"),
        ("not json".into(), "Invalid JSON syntax"),
        (r#"{"Version":"1","Statement":[]} trailing"#.into(), "Invalid JSON syntax"),
        (r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*",}]}"#.into(), "Invalid JSON syntax"),
        // Root shape.
        ("[]".into(), "Data type mismatch"),
        ("\"policy\"".into(), "Data type mismatch"),
        (r#"{"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#.into(), "Invalid policy element"),
        (r#"{"Version":"1"}"#.into(), "Invalid policy element"),
        (r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#.into(), "Invalid policy version"),
        (r#"{"Version":1,"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#.into(), "Data type mismatch"),
        (r#"{"version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#.into(), "Invalid policy element"),
        (r#"{"Version":"1","Id":"x","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#.into(), "Invalid policy element"),
        (r#"{"Version":"1","Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#.into(), "Invalid policy element: duplicate"),
        (r#"{"Version":"1","Statement":[]}"#.into(), "Invalid policy element"),
        (r#"{"Version":"1","Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}}"#.into(), "Data type mismatch"),
        (r#"{"Version":"1","Statement":["x"]}"#.into(), "Data type mismatch"),
        (r#"{"Version":"1","Statement":[null]}"#.into(), "Data type mismatch"),
        // Effect.
        (stmt(r#""Action":"ecs:*","Resource":"*""#), "Invalid policy element"),
        (stmt(r#""Effect":"allow","Action":"ecs:*","Resource":"*""#), "Invalid effect"),
        (stmt(r#""Effect":"ALLOW","Action":"ecs:*","Resource":"*""#), "Invalid effect"),
        (stmt(r#""Effect":"Permit","Action":"ecs:*","Resource":"*""#), "Invalid effect"),
        (stmt(r#""Effect":["Allow"],"Action":"ecs:*","Resource":"*""#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Effect":"Deny","Action":"ecs:*","Resource":"*""#), "Invalid policy element: duplicate"),
        // Action / NotAction.
        (stmt(r#""Effect":"Allow","Resource":"*""#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","NotAction":"ram:*","Resource":"*""#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":[],"Resource":"*""#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","NotAction":[],"Resource":"*""#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"DeleteImage","Resource":"*""#), "Invalid action format"),
        (stmt(r#""Effect":"Allow","Action":"ecs:","Resource":"*""#), "Invalid action format"),
        (stmt(r#""Effect":"Allow","Action":":DeleteImage","Resource":"*""#), "Invalid action format"),
        (stmt(r#""Effect":"Allow","Action":"ecs:Delete Image","Resource":"*""#), "Invalid action format"),
        (stmt(r#""Effect":"Allow","Action":"ecs:a:b","Resource":"*""#), "Invalid action format"),
        (stmt(r#""Effect":"Allow","Action":"","Resource":"*""#), "Invalid action format"),
        (stmt(r#""Effect":"Allow","Action":["ecs:*",""],"Resource":"*""#), "Invalid action format"),
        (stmt(r#""Effect":"Allow","Action":["ecs:*",1],"Resource":"*""#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":{"ecs":"*"},"Resource":"*""#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":null,"Resource":"*""#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":[["ecs:*"]],"Resource":"*""#), "Data type mismatch"),
        // Resource.
        (stmt(r#""Effect":"Allow","Action":"ecs:*""#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":[]"#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:s3:::bucket""#), "Invalid ARN prefix"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"image/*""#), "Invalid ARN prefix"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"""#), "Invalid ARN prefix"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"**""#), "Invalid ARN prefix"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":["*","acs"]"#), "Invalid ARN prefix"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":42"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","NotResource":"acs:ecs:*:*:image/*""#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","NotResource":"acs:ecs:*:*:image/*""#), "Invalid policy element"),
        // Principal is for trust policies only.
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Principal":{"RAM":"*"}"#), "Invalid policy element"),
        // Unknown or misspelt elements.
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Conditions":{}"#), "Invalid policy element"),
        (stmt(r#""effect":"Allow","Action":"ecs:*","Resource":"*""#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Sid":1"#), "Data type mismatch"),
        // Condition block.
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":[]"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":"x"}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{}}"#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEqual":{"acs:SourceVpc":"v"}}"#), "Invalid condition operator"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"stringequals":{"acs:SourceVpc":"v"}}"#), "Invalid condition operator"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEqualsIfExists":{"acs:SourceVpc":"v"}}"#), "The condition operator 'IfExists/Null' is not supported"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"IpAddressIfExists":{"acs:SourceIp":"10.0.0.0/8"}}"#), "The condition operator 'IfExists/Null' is not supported"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"Null":{"acs:SourceVpc":"true"}}"#), "The condition operator 'IfExists/Null' is not supported"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"acs:TagKeys":"a"}}"#), "Invalid condition operator"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"ForAllValues:StringLike":{"acs:TagKeys":"a*"}}"#), "Invalid condition operator"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"SourceVpc":"v"}}"#), "Invalid condition key format"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{":SourceVpc":"v"}}"#), "Invalid condition key format"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:":"v"}}"#), "Invalid condition key format"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:Source Vpc":"v"}}"#), "Invalid condition key format"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":[]}}"#), "Invalid policy element"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":null}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":{"a":"b"}}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":[["v"]]}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":"a","acs:SourceVpc":"b"}}"#), "Invalid policy element: duplicate"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":"a","ACS:sourcevpc":"b"}}"#), "Invalid policy element: duplicate"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":"a"},"StringEquals":{"acs:UserAgent":"b"}}"#), "Invalid policy element: duplicate"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":["true","false"]}}"#), "Invalid condition multiple Boolean"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"yes"}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"NumericLessThan":{"ecs:Count":"ten"}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"NumericLessThan":{"ecs:Count":"0x10"}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"next year"}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2030-02-30T00:00:00Z"}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/33"}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"example.com"}}"#), "Data type mismatch"),
        (stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","300.1.1.1"]}}"#), "Data type mismatch"),
    ];
    for (text, prefix) in &cases {
        rejects(PolicyKind::Identity, text, m, prefix);
        rejects(
            PolicyKind::Session,
            text,
            "InvalidParameter.PolicyGrammar",
            prefix,
        );
    }
}

#[test]
fn trust_accepts_and_rejects() {
    let ok = [
        trust_stmt(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}"#,
        ),
        trust_stmt(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1234567890123456:user/alice"}"#,
        ),
        trust_stmt(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"1234567890123456"}"#,
        ),
        trust_stmt(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs.aliyuncs.com","oss.aliyuncs.com"]}"#,
        ),
        trust_stmt(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Federated":["acs:ram::1234567890123456:saml-provider/idp"]},"Condition":{"StringEquals":{"saml:recipient":"https://signin.aliyun.com/saml-role/sso"}}"#,
        ),
        trust_stmt(
            r#""Effect":"Deny","Action":"sts:AssumeRole","Principal":{"RAM":"*","Service":"ecs.aliyuncs.com"}"#,
        ),
        trust_stmt(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::5555555555555555:root"},"Condition":{"StringEquals":{"sts:ExternalId":"abc"}}"#,
        ),
        trust_stmt(
            r#""Sid":"x","Effect":"Allow","Action":["sts:AssumeRole"],"Principal":{"RAM":["acs:ram::1:root"]}"#,
        ),
    ];
    for text in &ok {
        accepts(PolicyKind::Trust, text);
    }
    let m = MALFORMED;
    let bad: Vec<(String, &str)> = vec![
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole""#),
            "Invalid policy element",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{}"#),
            "Invalid policy element",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":"*""#),
            "Data type mismatch",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"}"#),
            "Invalid policy element",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"ram":"*"}"#),
            "Invalid policy element",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":[]}"#),
            "Invalid policy element",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"alice"}"#),
            "Invalid ARN prefix",
        ),
        (
            trust_stmt(
                r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Federated":"idp"}"#,
            ),
            "Invalid ARN prefix",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":""}"#),
            "Invalid policy element",
        ),
        (
            trust_stmt(
                r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"*","RAM":"*"}"#,
            ),
            "Invalid policy element: duplicate",
        ),
        (
            trust_stmt(
                r#""Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"*"},"Resource":"*""#,
            ),
            "Invalid policy element",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Action":"AssumeRole","Principal":{"RAM":"*"}"#),
            "Invalid action format",
        ),
        (
            trust_stmt(r#""Effect":"Allow","Principal":{"RAM":"*"}"#),
            "Invalid policy element",
        ),
    ];
    for (text, prefix) in &bad {
        rejects(PolicyKind::Trust, text, m, prefix);
    }
}

#[test]
fn length_limits_come_first() {
    // Exactly 6,144 characters (whitespace counts) is accepted; one more is refused with the
    // length code even though the document is otherwise valid — or even invalid JSON.
    let base = stmt(r#""Effect":"Allow","Action":"ecs:*","Resource":"*""#);
    let pad = 6144 - base.chars().count();
    let at_limit = format!("{base}{}", " ".repeat(pad));
    assert_eq!(at_limit.chars().count(), 6144);
    accepts(PolicyKind::Identity, &at_limit);
    let over = format!("{at_limit} ");
    rejects(
        PolicyKind::Identity,
        &over,
        "InvalidParameter.PolicyDocument.Length",
        "The parameter - \"PolicyDocument\" beyond the length limit.",
    );
    rejects(
        PolicyKind::Identity,
        &"x".repeat(7000),
        "InvalidParameter.PolicyDocument.Length",
        "",
    );
    rejects(
        PolicyKind::Trust,
        &"x".repeat(7000),
        "InvalidParameter.AssumeRolePolicyDocument.Length",
        "The parameter - \"AssumeRolePolicyDocument\" beyond the length limit.",
    );
    // Characters, not bytes: 6,144 multi-byte characters are fine.
    let wide = stmt(&format!(
        r#""Sid":"{}","Effect":"Allow","Action":"ecs:*","Resource":"*""#,
        "é".repeat(6144 - base.chars().count() - r#""Sid":"","#.len())
    ));
    assert_eq!(wide.chars().count(), 6144);
    assert!(wide.len() > 6144);
    accepts(PolicyKind::Identity, &wide);
    // Session policies: 1,024 bytes.
    let session_at = format!("{base}{}", " ".repeat(1024 - base.len()));
    accepts(PolicyKind::Session, &session_at);
    rejects(
        PolicyKind::Session,
        &format!("{session_at} "),
        "InvalidParameter.PolicySize",
        "",
    );
}

#[test]
fn string_equals_one_element_list() {
    // "x" ≡ ["x"] everywhere a list is allowed.
    let a = PolicyDocument::parse_identity(&stmt(
        r#""Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":"v"}}"#,
    ))
    .unwrap();
    let b = PolicyDocument::parse_identity(&stmt(
        r#""Effect":"Allow","Action":["ecs:*"],"Resource":["*"],"Condition":{"StringEquals":{"acs:SourceVpc":["v"]}}"#,
    ))
    .unwrap();
    assert_eq!(a, b);
    // Sid is ignored.
    let c = PolicyDocument::parse_identity(&stmt(
        r#""Sid":"s1","Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"acs:SourceVpc":"v"}}"#,
    ))
    .unwrap();
    assert_eq!(a, c);
}

#[test]
fn error_display_and_accessors() {
    let e = PolicyDocument::parse_identity(&stmt(
        r#""Effect":"allow","Action":"ecs:*","Resource":"*""#,
    ))
    .unwrap_err();
    assert_eq!(e.code(), "MalformedPolicyDocument");
    assert_eq!(e.message(), "Invalid effect: \"allow\".");
    assert_eq!(
        e.to_string(),
        "MalformedPolicyDocument: Invalid effect: \"allow\"."
    );
}
