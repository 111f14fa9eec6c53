//! Policy documents: parse and validate them exactly as RAM accepts or rejects them (spec §1, §2).
//!
//! Validation happens once, when a policy is created (CreatePolicy, CreatePolicyVersion,
//! CreateRole, AssumeRole's session `Policy`); a [`PolicyDocument`] that exists is valid, so the
//! evaluator never meets a malformed statement and never has to decide what one means.
//!
//! Decisions where RAM's documentation is silent (see the spec's open questions):
//! * `NotResource` is rejected (open question 1).
//! * `...IfExists`, `Null` and the `ForAnyValue:`/`ForAllValues:` qualifiers are rejected (open
//!   question 2).
//! * `Sid` is accepted and ignored (spec §1.1, recommended).
//! * Trust policies (`AssumeRolePolicyDocument`) require `Principal` and reject `Resource`, as
//!   their statements are about who may assume the role, not what it may touch.
//! * Duplicate JSON keys, empty lists, unknown elements and both/neither of `Action`/`NotAction`
//!   are rejected (spec §1.7, recommended).

use std::fmt;

use crate::condition::{self, Condition};
use crate::json::{self, Json};

/// Maximum length of a policy document in characters, whitespace included (spec §2).
pub const POLICY_DOCUMENT_MAX_CHARS: usize = 6144;

/// Maximum size of an STS session policy (AssumeRole's `Policy`) in bytes (spec §2).
pub const SESSION_POLICY_MAX_BYTES: usize = 1024;

/// Which kind of document is being parsed; it decides the allowed elements, the size limit and
/// the error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A custom policy's `PolicyDocument` (CreatePolicy / CreatePolicyVersion). `Resource` is
    /// required and `Principal` is rejected.
    Identity,
    /// A role's `AssumeRolePolicyDocument` (CreateRole / UpdateRole). `Principal` is required
    /// and `Resource` is rejected.
    Trust,
    /// An STS session policy (AssumeRole's `Policy`): identity grammar, but STS's own error codes
    /// (`InvalidParameter.PolicyGrammar`, `InvalidParameter.PolicySize`) and a 1,024-byte limit.
    Session,
}

/// Why a policy document was refused: the exact RAM/STS error code plus a message naming the
/// failed check. Every code maps to HTTP 400.
///
/// The server maps this into its own error type through [`code`](Self::code) and
/// [`message`](Self::message), so this crate stays independent of the wire catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    code: &'static str,
    message: String,
}

impl PolicyError {
    /// `MalformedPolicyDocument`: any grammar or validation failure of an identity or trust policy.
    pub const MALFORMED: &'static str = "MalformedPolicyDocument";
    /// A custom policy document longer than [`POLICY_DOCUMENT_MAX_CHARS`].
    pub const POLICY_DOCUMENT_LENGTH: &'static str = "InvalidParameter.PolicyDocument.Length";
    /// A trust policy longer than [`POLICY_DOCUMENT_MAX_CHARS`].
    pub const ASSUME_ROLE_POLICY_DOCUMENT_LENGTH: &'static str =
        "InvalidParameter.AssumeRolePolicyDocument.Length";
    /// A malformed STS session policy.
    pub const POLICY_GRAMMAR: &'static str = "InvalidParameter.PolicyGrammar";
    /// An STS session policy larger than [`SESSION_POLICY_MAX_BYTES`].
    pub const POLICY_SIZE: &'static str = "InvalidParameter.PolicySize";

    /// The wire error code, e.g. `MalformedPolicyDocument`.
    pub fn code(&self) -> &str {
        self.code
    }

    /// The human-readable detail, e.g. `Invalid effect: "allow".`
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status RAM answers with (always 400 for document errors, spec §6).
    pub fn http_status(&self) -> u16 {
        400
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        PolicyError {
            code: Self::MALFORMED,
            message: message.into(),
        }
    }

    /// Re-labels a grammar error with the code of the document kind being parsed.
    fn for_kind(mut self, kind: PolicyKind) -> Self {
        if kind == PolicyKind::Session && self.code == Self::MALFORMED {
            self.code = Self::POLICY_GRAMMAR;
        }
        self
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// A statement's `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    /// The wire spelling, `Allow` or `Deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement's action element: which of `Action` / `NotAction` it used, and its patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionElement<'a> {
    /// `Action`: the statement covers actions matching any pattern.
    Action(&'a [String]),
    /// `NotAction`: the statement covers every action matching none of the patterns.
    NotAction(&'a [String]),
}

/// A trust policy's `Principal` (spec §5.3): who may assume the role.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    ram: Vec<String>,
    service: Vec<String>,
    federated: Vec<String>,
}

impl Principal {
    /// `Principal.RAM`: `acs:ram::<uid>:root` (any identity of that account), a user or role ARN,
    /// a bare account UID, or `*`.
    pub fn ram(&self) -> &[String] {
        &self.ram
    }

    /// `Principal.Service`: cloud services, e.g. `ecs.aliyuncs.com`.
    pub fn service(&self) -> &[String] {
        &self.service
    }

    /// `Principal.Federated`: identity providers, e.g. `acs:ram::<uid>:saml-provider/<name>`.
    pub fn federated(&self) -> &[String] {
        &self.federated
    }
}

/// One validated statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    effect: Effect,
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    principal: Option<Principal>,
    conditions: Vec<Condition>,
}

impl Statement {
    /// `Allow` or `Deny`.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The `Action` or `NotAction` patterns.
    pub fn action(&self) -> ActionElement<'_> {
        if self.not_action {
            ActionElement::NotAction(&self.actions)
        } else {
            ActionElement::Action(&self.actions)
        }
    }

    /// The `Resource` patterns (empty in trust policies).
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The `Principal` (trust policies only).
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The condition block flattened to one entry per (operator, key); all must hold (AND).
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// A validated policy document. Only [`PolicyDocument::parse`] (and its shorthands) makes one,
/// so holding one proves the text passed RAM's checks.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    kind: PolicyKind,
    statements: Vec<Statement>,
}

impl PolicyDocument {
    /// Parses and validates `text` as a document of `kind`. Length limits are checked first
    /// (spec §1.7), then JSON syntax, then the grammar.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        check_length(text, kind)?;
        parse_unchecked_length(text, kind).map_err(|e| e.for_kind(kind))
    }

    /// Parses a custom policy's `PolicyDocument`.
    pub fn parse_identity(text: &str) -> Result<Self, PolicyError> {
        Self::parse(text, PolicyKind::Identity)
    }

    /// Parses a role's `AssumeRolePolicyDocument`.
    pub fn parse_trust(text: &str) -> Result<Self, PolicyError> {
        Self::parse(text, PolicyKind::Trust)
    }

    /// Parses an STS session policy (AssumeRole's `Policy`).
    pub fn parse_session(text: &str) -> Result<Self, PolicyError> {
        Self::parse(text, PolicyKind::Session)
    }

    /// The kind this document was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The statements, in document order (order never changes a decision, but the explain mode
    /// and [`MatchedStatement`](crate::MatchedStatement) refer to them by index).
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

fn check_length(text: &str, kind: PolicyKind) -> Result<(), PolicyError> {
    match kind {
        PolicyKind::Identity | PolicyKind::Trust => {
            if text.chars().count() > POLICY_DOCUMENT_MAX_CHARS {
                let (code, param) = if kind == PolicyKind::Identity {
                    (PolicyError::POLICY_DOCUMENT_LENGTH, "PolicyDocument")
                } else {
                    (
                        PolicyError::ASSUME_ROLE_POLICY_DOCUMENT_LENGTH,
                        "AssumeRolePolicyDocument",
                    )
                };
                return Err(PolicyError {
                    code,
                    message: format!("The parameter - \"{param}\" beyond the length limit."),
                });
            }
        }
        PolicyKind::Session => {
            if text.len() > SESSION_POLICY_MAX_BYTES {
                return Err(PolicyError {
                    code: PolicyError::POLICY_SIZE,
                    message: format!(
                        "The size of the parameter \"Policy\" exceeds the limit of {SESSION_POLICY_MAX_BYTES} bytes."
                    ),
                });
            }
        }
    }
    Ok(())
}

fn parse_unchecked_length(text: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
    let root = json::parse(text)
        .map_err(|e| PolicyError::malformed(format!("Invalid JSON syntax: {e}.")))?;
    let members = object(&root, "the policy document")?;
    let mut version = None;
    let mut statement = None;
    for (name, value) in members {
        match name.as_str() {
            "Version" => version = Some(value),
            "Statement" => statement = Some(value),
            other => return Err(invalid_element(other)),
        }
    }
    let version = version.ok_or_else(|| missing_element("Version"))?;
    match version {
        Json::String(v) if v == "1" => {}
        Json::String(v) => {
            return Err(PolicyError::malformed(format!(
                "Invalid policy version: \"{v}\" (only \"1\" is supported)."
            )));
        }
        other => return Err(type_mismatch("Version", "a string", other)),
    }
    let statement = statement.ok_or_else(|| missing_element("Statement"))?;
    let Json::Array(items) = statement else {
        return Err(type_mismatch("Statement", "an array", statement));
    };
    if items.is_empty() {
        return Err(PolicyError::malformed(
            "Invalid policy element: \"Statement\" must not be empty.",
        ));
    }
    let statements = items
        .iter()
        .map(|s| parse_statement(s, kind))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PolicyDocument { kind, statements })
}

fn parse_statement(value: &Json, kind: PolicyKind) -> Result<Statement, PolicyError> {
    let members = object(value, "a statement")?;
    let mut effect = None;
    let mut action = None;
    let mut not_action = None;
    let mut resource = None;
    let mut principal = None;
    let mut condition = None;
    for (name, value) in members {
        match name.as_str() {
            "Effect" => effect = Some(value),
            "Action" => action = Some(value),
            "NotAction" => not_action = Some(value),
            "Resource" => resource = Some(value),
            "Principal" => principal = Some(value),
            "Condition" => condition = Some(value),
            "Sid" => {
                if !matches!(value, Json::String(_)) {
                    return Err(type_mismatch("Sid", "a string", value));
                }
            }
            "NotResource" => {
                return Err(PolicyError::malformed(
                    "Invalid policy element: \"NotResource\" is not supported.",
                ));
            }
            other => return Err(invalid_element(other)),
        }
    }

    let effect = match effect.ok_or_else(|| missing_element("Effect"))? {
        Json::String(s) if s == "Allow" => Effect::Allow,
        Json::String(s) if s == "Deny" => Effect::Deny,
        Json::String(s) => {
            return Err(PolicyError::malformed(format!("Invalid effect: \"{s}\".")));
        }
        other => return Err(type_mismatch("Effect", "a string", other)),
    };

    let (actions, not_action, element) = match (action, not_action) {
        (Some(a), None) => (a, false, "Action"),
        (None, Some(a)) => (a, true, "NotAction"),
        (Some(_), Some(_)) => {
            return Err(PolicyError::malformed(
                "Invalid policy element: a statement cannot have both \"Action\" and \"NotAction\".",
            ));
        }
        (None, None) => return Err(missing_element("Action")),
    };
    let actions = string_or_list(actions, element)?;
    for a in &actions {
        if !valid_action(a) {
            return Err(PolicyError::malformed(format!(
                "Invalid action format: \"{a}\"."
            )));
        }
    }

    let resources = match (kind, resource) {
        (PolicyKind::Trust, Some(_)) => {
            return Err(PolicyError::malformed(
                "Invalid policy element: \"Resource\" is not allowed in a trust policy.",
            ));
        }
        (PolicyKind::Trust, None) => Vec::new(),
        (_, None) => return Err(missing_element("Resource")),
        (_, Some(r)) => {
            let resources = string_or_list(r, "Resource")?;
            for r in &resources {
                if !valid_resource(r) {
                    return Err(PolicyError::malformed(format!(
                        "Invalid ARN prefix: \"{r}\"."
                    )));
                }
            }
            resources
        }
    };

    let principal = match (kind, principal) {
        (PolicyKind::Trust, Some(p)) => Some(parse_principal(p)?),
        (PolicyKind::Trust, None) => return Err(missing_element("Principal")),
        (_, Some(_)) => {
            return Err(PolicyError::malformed(
                "Invalid policy element: \"Principal\" is only allowed in a trust policy.",
            ));
        }
        (_, None) => None,
    };

    let conditions = match condition {
        Some(c) => condition::parse_block(c)?,
        None => Vec::new(),
    };

    Ok(Statement {
        effect,
        actions,
        not_action,
        resources,
        principal,
        conditions,
    })
}

fn parse_principal(value: &Json) -> Result<Principal, PolicyError> {
    let members = object(value, "Principal")?;
    if members.is_empty() {
        return Err(PolicyError::malformed(
            "Invalid policy element: \"Principal\" must not be empty.",
        ));
    }
    let mut p = Principal::default();
    for (name, value) in members {
        match name.as_str() {
            "RAM" => {
                p.ram = string_or_list(value, "Principal.RAM")?;
                for v in &p.ram {
                    let ok = v == "*"
                        || (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                        || has_acs_prefix(v);
                    if !ok {
                        return Err(PolicyError::malformed(format!(
                            "Invalid ARN prefix: \"{v}\"."
                        )));
                    }
                }
            }
            "Service" => {
                p.service = string_or_list(value, "Principal.Service")?;
                if let Some(bad) = p
                    .service
                    .iter()
                    .find(|s| s.is_empty() || s.chars().any(char::is_whitespace))
                {
                    return Err(PolicyError::malformed(format!(
                        "Invalid policy element: invalid service principal \"{bad}\"."
                    )));
                }
            }
            "Federated" => {
                p.federated = string_or_list(value, "Principal.Federated")?;
                if let Some(bad) = p.federated.iter().find(|v| !has_acs_prefix(v)) {
                    return Err(PolicyError::malformed(format!(
                        "Invalid ARN prefix: \"{bad}\"."
                    )));
                }
            }
            other => return Err(invalid_element(&format!("Principal.{other}"))),
        }
    }
    Ok(p)
}

/// `<ram-code>:<action-name>` or `*` (spec §1.2). Wildcards may appear in both parts.
fn valid_action(a: &str) -> bool {
    if a == "*" {
        return true;
    }
    let Some((service, name)) = a.split_once(':') else {
        return false;
    };
    let service_ok = !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '?'));
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '?'));
    service_ok && name_ok
}

/// `*` or an ARN pattern starting with `acs:` (spec §1.3: anything else is "Invalid ARN prefix").
fn valid_resource(r: &str) -> bool {
    r == "*" || has_acs_prefix(r)
}

fn has_acs_prefix(s: &str) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("acs:"))
}

/// Returns an object's members after rejecting duplicate keys.
pub(crate) fn object<'a>(value: &'a Json, what: &str) -> Result<&'a [(String, Json)], PolicyError> {
    let Json::Object(members) = value else {
        return Err(PolicyError::malformed(format!(
            "Data type mismatch: {what} must be an object, found {}.",
            value.type_name()
        )));
    };
    for (i, (k, _)) in members.iter().enumerate() {
        if members[..i].iter().any(|(prev, _)| prev == k) {
            return Err(PolicyError::malformed(format!(
                "Invalid policy element: duplicate element \"{k}\"."
            )));
        }
    }
    Ok(members)
}

/// A string or a non-empty list of strings (`"x"` ≡ `["x"]`).
fn string_or_list(value: &Json, element: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::malformed(format!(
                    "Invalid policy element: \"{element}\" must not be empty."
                )));
            }
            items
                .iter()
                .map(|item| match item {
                    Json::String(s) => Ok(s.clone()),
                    other => Err(type_mismatch(element, "a list of strings", other)),
                })
                .collect()
        }
        other => Err(type_mismatch(
            element,
            "a string or a list of strings",
            other,
        )),
    }
}

pub(crate) fn type_mismatch(element: &str, expected: &str, found: &Json) -> PolicyError {
    PolicyError::malformed(format!(
        "Data type mismatch: \"{element}\" must be {expected}, found {}.",
        found.type_name()
    ))
}

fn invalid_element(name: &str) -> PolicyError {
    PolicyError::malformed(format!("Invalid policy element: \"{name}\"."))
}

fn missing_element(name: &str) -> PolicyError {
    PolicyError::malformed(format!(
        "Invalid policy element: missing required element \"{name}\"."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_identity_policy() {
        let d = PolicyDocument::parse_identity(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}"#,
        )
        .unwrap();
        assert_eq!(d.kind(), PolicyKind::Identity);
        assert_eq!(d.statements().len(), 1);
        let s = &d.statements()[0];
        assert_eq!(s.effect(), Effect::Allow);
        assert_eq!(s.action(), ActionElement::Action(&["ecs:*".to_string()]));
        assert_eq!(s.resources(), ["*"]);
        assert!(s.principal().is_none());
    }

    #[test]
    fn session_errors_use_sts_codes() {
        let e = PolicyDocument::parse_session(r#"{"Version":"2"}"#).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.PolicyGrammar");
        let big = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"ecs:*","Resource":"{}"}}]}}"#,
            "a".repeat(1100)
        );
        let e = PolicyDocument::parse_session(&big).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.PolicySize");
    }

    #[test]
    fn action_format() {
        for ok in [
            "*",
            "ecs:*",
            "*:*",
            "*:Describe*",
            "ecs:Describe?mages",
            "oss:Get.Object",
        ] {
            assert!(valid_action(ok), "{ok}");
        }
        for bad in [
            "", "ecs", "ecs:", ":x", "ecs:a:b", "ecs :x", "ecs:x y", "e/c:x",
        ] {
            assert!(!valid_action(bad), "{bad}");
        }
    }
}
