//! RAM (2015-05-01) and STS (2015-04-01) on the ECS listener, and authorization of every call
//! (spec ram-authorization.md). Helpers here; the tests are in the `ram_*.rs` files.

#[path = "ram_api.rs"]
mod api;
#[path = "ram_authz.rs"]
mod authz;
#[path = "ram_sts.rs"]
mod sts;

use crate::support::*;
use axum::body::Body;
use axum::http::Request;
use ecsim_core::clock::format_time;
use ecsim_wire::Params;
use ecsim_wire::signature::v3::Algorithm;
use ecsim_wire::signature::{v1, v3};
use serde_json::{Value, json};

pub const RAM: &str = "2015-05-01";
pub const STS: &str = "2015-04-01";

/// Credentials of any kind: a root or RAM user key, or an STS key with its token.
#[derive(Debug, Clone)]
pub struct Who {
    pub key_id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl Who {
    pub fn root(app: &TestApp) -> Who {
        Who {
            key_id: app.root.key_id.clone(),
            secret: app.root.secret.clone(),
            token: None,
        }
    }
}

/// A signed RAM/STS call, V3 by default (the STS token headers signed, as the Tea SDK does)
/// or V1 (`SecurityToken` as a signed parameter).
pub struct RamCall<'a> {
    app: &'a TestApp,
    version: &'static str,
    action: String,
    params: Vec<(String, String)>,
    who: Who,
    v1: bool,
}

pub fn ram<'a>(app: &'a TestApp, who: &Who, action: &str) -> RamCall<'a> {
    RamCall {
        app,
        version: RAM,
        action: action.to_string(),
        params: Vec::new(),
        who: who.clone(),
        v1: false,
    }
}

pub fn sts<'a>(app: &'a TestApp, who: &Who, action: &str) -> RamCall<'a> {
    RamCall {
        version: STS,
        ..ram(app, who, action)
    }
}

impl RamCall<'_> {
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.to_string(), value.to_string()));
        self
    }

    pub fn v1(mut self) -> Self {
        self.v1 = true;
        self
    }

    pub fn build(&self) -> Request<Body> {
        let date = format_time(self.app.now());
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        if self.v1 {
            let mut all: Vec<(String, String)> = vec![
                ("Action".into(), self.action.clone()),
                ("Version".into(), self.version.into()),
                ("Format".into(), "JSON".into()),
                ("AccessKeyId".into(), self.who.key_id.clone()),
                ("SignatureMethod".into(), "HMAC-SHA1".into()),
                ("SignatureVersion".into(), "1.0".into()),
                ("SignatureNonce".into(), nonce),
                ("Timestamp".into(), date),
            ];
            if let Some(t) = &self.who.token {
                all.push(("SecurityToken".into(), t.clone()));
            }
            all.extend(self.params.iter().cloned());
            let sts = v1::string_to_sign("POST", &Params::from_pairs(all.clone()));
            all.push(("Signature".into(), v1::sign(&self.who.secret, &sts)));
            return Request::builder()
                .method("POST")
                .uri(format!("/?{}", encode_pairs(&all)))
                .header("host", "ram.aliyuncs.com")
                .body(Body::empty())
                .expect("request builds");
        }
        let alg = Algorithm::HmacSha256;
        let hash = v3::hash_payload(alg, b"");
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), "ram.aliyuncs.com".into()),
            ("x-acs-action".into(), self.action.clone()),
            ("x-acs-content-sha256".into(), hash.clone()),
            ("x-acs-date".into(), date),
            ("x-acs-signature-nonce".into(), nonce),
            ("x-acs-version".into(), self.version.into()),
        ];
        if let Some(t) = &self.who.token {
            headers.push(("x-acs-accesskey-id".into(), self.who.key_id.clone()));
            headers.push(("x-acs-security-token".into(), t.clone()));
        }
        headers.sort();
        let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
        let canonical = v3::canonical_request(
            "POST",
            &Params::from_pairs(self.params.clone()),
            &headers,
            &signed,
            &hash,
        );
        let to_sign = v3::string_to_sign(alg, &canonical);
        let signature = v3::sign(alg, &self.who.secret, &to_sign).expect("signs");
        let mut builder = Request::builder()
            .method("POST")
            .uri(format!("/?{}", encode_pairs(&self.params)));
        for (k, v) in &headers {
            builder = builder.header(k, v);
        }
        builder
            .header(
                "authorization",
                format!(
                    "ACS3-HMAC-SHA256 Credential={},SignedHeaders={},Signature={signature}",
                    self.who.key_id,
                    signed.join(";")
                ),
            )
            .body(Body::empty())
            .expect("request builds")
    }

    pub async fn send(&self) -> Resp {
        self.app.send(self.build()).await
    }

    pub async fn ok(&self) -> Value {
        self.send().await.ok()
    }
}

/// The RAM/STS error envelope: status, code, the five string fields, `HostId` and the
/// `Recommend` product of the service.
#[track_caller]
pub fn service_err(resp: Resp, status: u16, code: &str) -> Value {
    let body = resp.json();
    assert_eq!(
        (resp.status, body["Code"].as_str()),
        (status, Some(code)),
        "body: {body}"
    );
    for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
        assert!(body[field].is_string(), "{field} must be a string: {body}");
    }
    let recommend = str_of(&body["Recommend"]);
    let host = str_of(&body["HostId"]);
    if host == "ram.aliyuncs.com" {
        assert!(recommend.contains("&product=Ram&"), "{body}");
    } else if host == "sts.aliyuncs.com" {
        assert!(recommend.contains("&product=Sts&"), "{body}");
    } else {
        assert!(recommend.contains("&product=Ecs&"), "{body}");
    }
    body
}

/// An ECS call (V3) as `who`; an STS token rides in `x-acs-security-token`.
pub fn ecs(app: &TestApp, who: &Who, action: &str) -> Call {
    let call = app.call(action).key_id(&who.key_id).secret(&who.secret);
    match &who.token {
        Some(t) => call.header("x-acs-security-token", t),
        None => call,
    }
}

/// An ECS call signed V1 as `who`; an STS token is the signed `SecurityToken` parameter.
pub fn ecs_v1(app: &TestApp, who: &Who, action: &str) -> Call {
    let call = app
        .call(action)
        .key_id(&who.key_id)
        .secret(&who.secret)
        .v1();
    match &who.token {
        Some(t) => call.param("SecurityToken", t),
        None => call,
    }
}

pub fn doc(statements: Value) -> String {
    json!({ "Version": "1", "Statement": statements }).to_string()
}

pub fn allow(action: &str, resource: &str) -> Value {
    json!({ "Effect": "Allow", "Action": action, "Resource": resource })
}

pub fn deny(action: &str, resource: &str) -> Value {
    json!({ "Effect": "Deny", "Action": action, "Resource": resource })
}

/// A RAM user with one AccessKey.
pub async fn user(app: &TestApp, name: &str) -> Who {
    let root = Who::root(app);
    ram(app, &root, "CreateUser")
        .param("UserName", name)
        .ok()
        .await;
    let key = ram(app, &root, "CreateAccessKey")
        .param("UserName", name)
        .ok()
        .await;
    Who {
        key_id: str_of(&key["AccessKey"]["AccessKeyId"]),
        secret: str_of(&key["AccessKey"]["AccessKeySecret"]),
        token: None,
    }
}

/// Creates a custom policy.
pub async fn policy(app: &TestApp, name: &str, document: &str) {
    ram(app, &Who::root(app), "CreatePolicy")
        .param("PolicyName", name)
        .param("PolicyDocument", document)
        .ok()
        .await;
}

/// Attaches a policy (`Custom` or `System`) to a user.
pub async fn attach_to_user(app: &TestApp, kind: &str, policy: &str, user: &str) {
    ram(app, &Who::root(app), "AttachPolicyToUser")
        .param("PolicyType", kind)
        .param("PolicyName", policy)
        .param("UserName", user)
        .ok()
        .await;
}

/// A user holding one custom policy with this document.
pub async fn user_with(app: &TestApp, name: &str, document: &str) -> Who {
    let who = user(app, name).await;
    let policy_name = format!("{name}-policy");
    policy(app, &policy_name, document).await;
    attach_to_user(app, "Custom", &policy_name, name).await;
    who
}

/// The ARN of one of the root account's images in the test region.
pub fn image_arn(app: &TestApp, image: &str) -> String {
    format!("acs:ecs:{REGION}:{}:image/{image}", app.root.account_id)
}

/// Checks the `AccessDeniedDetail` of a denial and answers it.
#[track_caller]
pub fn detail(body: &Value, action: &str, no_permission: &str, policy_type: &str) -> Value {
    let d = body["AccessDeniedDetail"].clone();
    assert!(d.is_object(), "AccessDeniedDetail missing: {body}");
    assert_eq!(d["AuthAction"], action, "{body}");
    assert_eq!(d["NoPermissionType"], no_permission, "{body}");
    assert_eq!(d["PolicyType"], policy_type, "{body}");
    for f in [
        "AuthAction",
        "AuthPrincipalType",
        "AuthPrincipalOwnerId",
        "AuthPrincipalDisplayName",
        "NoPermissionType",
        "PolicyType",
        "EncodedDiagnosticMessage",
    ] {
        assert!(d[f].is_string(), "{f} must be a string: {body}");
    }
    d
}
