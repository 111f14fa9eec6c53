//! Condition blocks (spec §1.4, §1.5) and the request context they are evaluated against.
//!
//! Semantics, including the spec's recommendations where RAM's documentation is silent:
//! * several values for one key are OR'ed; several keys under one operator and several
//!   operators are AND'ed;
//! * a negated operator (`StringNotEquals`, `StringNotEqualsIgnoreCase`, `StringNotLike`,
//!   `NumericNotEquals`, `DateNotEquals`, `NotIpAddress`) is exactly the negation of its positive
//!   twin, so the value list means "matches none of" (NOR);
//! * a key missing from the request makes a positive operator false and a negated one true
//!   (open question 3), which is what makes "Deny unless `acs:SourceVpc` is X" deny Internet
//!   traffic;
//! * request values that do not parse for the operator's type (a number, a date, an IP, a
//!   boolean) count as absent;
//! * key names are case-insensitive (open question 8) and `ecs:tag/<k>` is an alias of
//!   `acs:ResourceTag/<k>`; string comparisons on `acs:PrincipalARN` are case-insensitive
//!   (open question 12).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::json::Json;
use crate::matching::glob_match;
use crate::policy::{PolicyError, object, type_mismatch};

/// Names of the global condition keys (spec §1.5), spelled as RAM documents them.
pub mod keys {
    /// Date: when the server received the request.
    pub const CURRENT_TIME: &str = "acs:CurrentTime";
    /// Bool: the request arrived over HTTPS.
    pub const SECURE_TRANSPORT: &str = "acs:SecureTransport";
    /// IP: the TCP peer address of the connection.
    pub const SOURCE_IP: &str = "acs:SourceIp";
    /// Bool: MFA was used at logon (never set for API calls).
    pub const MFA_PRESENT: &str = "acs:MFAPresent";
    /// String: the VPC ID of a call that came through a VPC endpoint.
    pub const SOURCE_VPC: &str = "acs:SourceVpc";
    /// String: the AccessKey ID that signed the request (`STS.` prefix for temporary keys).
    pub const ACCESS_ID: &str = "acs:AccessId";
    /// String: the caller's ARN.
    pub const PRINCIPAL_ARN: &str = "acs:PrincipalARN";
    /// String: the `User-Agent` header.
    pub const USER_AGENT: &str = "acs:UserAgent";
    /// String: the `Referer` header.
    pub const REFERER: &str = "acs:Referer";
    /// String prefix: `acs:ResourceTag/<tag-key>` is the target resource's tag value.
    pub const RESOURCE_TAG_PREFIX: &str = "acs:ResourceTag/";
}

/// A condition operator (spec §1.4). Names are case-sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
}

const OPERATORS: [(Operator, &str); 21] = [
    (Operator::StringEquals, "StringEquals"),
    (Operator::StringNotEquals, "StringNotEquals"),
    (Operator::StringEqualsIgnoreCase, "StringEqualsIgnoreCase"),
    (
        Operator::StringNotEqualsIgnoreCase,
        "StringNotEqualsIgnoreCase",
    ),
    (Operator::StringLike, "StringLike"),
    (Operator::StringNotLike, "StringNotLike"),
    (Operator::NumericEquals, "NumericEquals"),
    (Operator::NumericNotEquals, "NumericNotEquals"),
    (Operator::NumericLessThan, "NumericLessThan"),
    (Operator::NumericLessThanEquals, "NumericLessThanEquals"),
    (Operator::NumericGreaterThan, "NumericGreaterThan"),
    (
        Operator::NumericGreaterThanEquals,
        "NumericGreaterThanEquals",
    ),
    (Operator::DateEquals, "DateEquals"),
    (Operator::DateNotEquals, "DateNotEquals"),
    (Operator::DateLessThan, "DateLessThan"),
    (Operator::DateLessThanEquals, "DateLessThanEquals"),
    (Operator::DateGreaterThan, "DateGreaterThan"),
    (Operator::DateGreaterThanEquals, "DateGreaterThanEquals"),
    (Operator::Bool, "Bool"),
    (Operator::IpAddress, "IpAddress"),
    (Operator::NotIpAddress, "NotIpAddress"),
];

impl Operator {
    /// Every supported operator.
    pub fn all() -> impl Iterator<Item = Operator> {
        OPERATORS.iter().map(|(op, _)| *op)
    }

    /// The operator's name as written in a policy.
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("", |(_, n)| n)
    }

    /// Looks up an operator by its exact (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<Operator> {
        OPERATORS
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(op, _)| *op)
    }

    /// Negated operators are the negation of their positive twin (NOR over the values; true when
    /// the key is absent).
    pub fn is_negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
        )
    }

    fn family(self) -> Family {
        use Operator::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => Family::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Number,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            IpAddress | NotIpAddress => Family::Ip,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Number,
    Date,
    Bool,
    Ip,
}

/// Policy values pre-parsed for the operator's type, so evaluation never re-parses them.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Strings,
    Numbers(Vec<f64>),
    Dates(Vec<OffsetDateTime>),
    Bool(bool),
    Nets(Vec<IpNet>),
}

/// One (operator, key, values) test of a statement's condition block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    operator: Operator,
    key: String,
    canonical_key: String,
    values: Vec<String>,
    parsed: Parsed,
}

impl Condition {
    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The key as written in the policy, e.g. `acs:SourceIp`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The policy values as strings (bare JSON booleans/numbers stringified); any may match.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Is this test true for the request (and the `resource`-th request resource, whose tags
    /// back `acs:ResourceTag/*`)?
    pub(crate) fn evaluate(&self, ctx: &RequestContext, resource: Option<usize>) -> bool {
        let positive = match ctx.lookup(&self.canonical_key, resource) {
            Some(request_values) => request_values.iter().any(|rv| self.matches_one(rv)),
            None => false,
        };
        positive != self.operator.is_negated()
    }

    /// Like [`evaluate`](Self::evaluate), with a sentence saying why.
    pub(crate) fn trace(&self, ctx: &RequestContext, resource: Option<usize>) -> ConditionTrace {
        let satisfied = self.evaluate(ctx, resource);
        let detail = match ctx.lookup(&self.canonical_key, resource) {
            None => format!(
                "key {} is absent from the request, so {} is {}",
                self.key,
                self.operator,
                if satisfied { "true" } else { "false" }
            ),
            Some(request_values) => {
                let matching: Vec<&String> = request_values
                    .iter()
                    .filter(|rv| self.matches_one(rv))
                    .collect();
                if matching.is_empty() {
                    format!(
                        "request value(s) {:?} of {} match none of {:?} under {}, so it is {}",
                        request_values,
                        self.key,
                        self.values,
                        self.operator.positive_name(),
                        satisfied
                    )
                } else {
                    format!(
                        "request value(s) {:?} of {} match {:?} under {}, so it is {}",
                        matching,
                        self.key,
                        self.values,
                        self.operator.positive_name(),
                        satisfied
                    )
                }
            }
        };
        ConditionTrace {
            operator: self.operator,
            key: self.key.clone(),
            satisfied,
            detail,
        }
    }

    /// The positive test of one request value against the policy values (OR).
    fn matches_one(&self, request_value: &str) -> bool {
        use Operator::*;
        match &self.parsed {
            Parsed::Strings => {
                // acs:PrincipalARN compares case-insensitively (open question 12).
                let fold = self.canonical_key == "acs:principalarn";
                let fold_request = fold.then(|| request_value.to_lowercase());
                let rv = fold_request.as_deref().unwrap_or(request_value);
                self.values.iter().any(|pv| {
                    let folded = fold.then(|| pv.to_lowercase());
                    let pv = folded.as_deref().unwrap_or(pv);
                    match self.operator {
                        StringEquals | StringNotEquals => rv == pv,
                        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                            rv.to_lowercase() == pv.to_lowercase()
                        }
                        _ => glob_match(pv, rv),
                    }
                })
            }
            Parsed::Numbers(policy) => parse_number(request_value).is_some_and(|rv| {
                policy.iter().any(|&pv| match self.operator {
                    NumericLessThan => rv < pv,
                    NumericLessThanEquals => rv <= pv,
                    NumericGreaterThan => rv > pv,
                    NumericGreaterThanEquals => rv >= pv,
                    _ => rv == pv,
                })
            }),
            Parsed::Dates(policy) => parse_date(request_value).is_some_and(|rv| {
                policy.iter().any(|&pv| match self.operator {
                    DateLessThan => rv < pv,
                    DateLessThanEquals => rv <= pv,
                    DateGreaterThan => rv > pv,
                    DateGreaterThanEquals => rv >= pv,
                    _ => rv == pv,
                })
            }),
            Parsed::Bool(pv) => parse_bool(request_value) == Some(*pv),
            Parsed::Nets(nets) => parse_request_ip(request_value)
                .is_some_and(|ip| nets.iter().any(|n| n.contains(ip))),
        }
    }
}

impl Operator {
    fn positive_name(self) -> &'static str {
        use Operator::*;
        match self {
            StringNotEquals => "StringEquals",
            StringNotEqualsIgnoreCase => "StringEqualsIgnoreCase",
            StringNotLike => "StringLike",
            NumericNotEquals => "NumericEquals",
            DateNotEquals => "DateEquals",
            NotIpAddress => "IpAddress",
            other => other.name(),
        }
    }
}

/// How one condition test came out, for the explain mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionTrace {
    pub operator: Operator,
    /// The key as written in the policy.
    pub key: String,
    pub satisfied: bool,
    /// A sentence saying why, naming the request and policy values.
    pub detail: String,
}

/// Parses a statement's `Condition` element into a flat list of tests (all must hold).
pub(crate) fn parse_block(value: &Json) -> Result<Vec<Condition>, PolicyError> {
    let operators = object(value, "Condition")?;
    let mut out = Vec::new();
    for (op_name, body) in operators {
        let operator = parse_operator(op_name)?;
        let entries = object(
            body,
            &format!("the body of condition operator \"{op_name}\""),
        )?;
        if entries.is_empty() {
            return Err(PolicyError::malformed(format!(
                "Invalid policy element: condition operator \"{op_name}\" has no keys."
            )));
        }
        // Keys are case-insensitive, so two spellings of one key are a duplicate.
        for (i, (key, _)) in entries.iter().enumerate() {
            let canon = canonical_key(key);
            if entries[..i]
                .iter()
                .any(|(prev, _)| canonical_key(prev) == canon)
            {
                return Err(PolicyError::malformed(format!(
                    "Invalid policy element: duplicate condition key \"{key}\"."
                )));
            }
        }
        for (key, raw) in entries {
            if !valid_key(key) {
                return Err(PolicyError::malformed(format!(
                    "Invalid condition key format: \"{key}\"."
                )));
            }
            let values = condition_values(raw, key)?;
            let parsed = parse_values(operator, key, &values)?;
            out.push(Condition {
                operator,
                key: key.clone(),
                canonical_key: canonical_key(key),
                values,
                parsed,
            });
        }
    }
    Ok(out)
}

fn parse_operator(name: &str) -> Result<Operator, PolicyError> {
    if let Some(op) = Operator::from_name(name) {
        return Ok(op);
    }
    if name == "Null" || name.ends_with("IfExists") {
        // The message RAM answers for both, as observed (spec §1.4).
        return Err(PolicyError::malformed(
            "The condition operator 'IfExists/Null' is not supported",
        ));
    }
    if name.starts_with("ForAnyValue:") || name.starts_with("ForAllValues:") {
        return Err(PolicyError::malformed(format!(
            "Invalid condition operator: \"{name}\" (set qualifiers are not supported)."
        )));
    }
    Err(PolicyError::malformed(format!(
        "Invalid condition operator: \"{name}\"."
    )))
}

/// `<ram-code>:<key>`; the key part may contain `/` (e.g. `acs:ResourceTag/env`).
fn valid_key(key: &str) -> bool {
    let Some((service, name)) = key.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.is_empty()
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A string, a bare boolean or number (stringified), or a non-empty list of those.
fn condition_values(raw: &Json, key: &str) -> Result<Vec<String>, PolicyError> {
    fn scalar(v: &Json, key: &str) -> Result<String, PolicyError> {
        match v {
            Json::String(s) => Ok(s.clone()),
            Json::Bool(b) => Ok(b.to_string()),
            Json::Number(n) => Ok(n.clone()),
            other => Err(type_mismatch(key, "a string or a list of strings", other)),
        }
    }
    match raw {
        Json::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::malformed(format!(
                    "Invalid policy element: condition key \"{key}\" has no values."
                )));
            }
            items.iter().map(|v| scalar(v, key)).collect()
        }
        other => Ok(vec![scalar(other, key)?]),
    }
}

fn parse_values(operator: Operator, key: &str, values: &[String]) -> Result<Parsed, PolicyError> {
    let bad = |what: &str, v: &str| {
        PolicyError::malformed(format!(
            "Data type mismatch: {operator} value \"{v}\" of condition key \"{key}\" is not {what}."
        ))
    };
    Ok(match operator.family() {
        Family::String => Parsed::Strings,
        Family::Number => Parsed::Numbers(
            values
                .iter()
                .map(|v| parse_number(v).ok_or_else(|| bad("a decimal number", v)))
                .collect::<Result<_, _>>()?,
        ),
        Family::Date => Parsed::Dates(
            values
                .iter()
                .map(|v| parse_date(v).ok_or_else(|| bad("an ISO 8601 date", v)))
                .collect::<Result<_, _>>()?,
        ),
        Family::Bool => {
            if values.len() != 1 {
                return Err(PolicyError::malformed(format!(
                    "Invalid condition multiple Boolean: condition key \"{key}\" has {} values.",
                    values.len()
                )));
            }
            Parsed::Bool(
                parse_bool(&values[0]).ok_or_else(|| bad("\"true\" or \"false\"", &values[0]))?,
            )
        }
        Family::Ip => Parsed::Nets(
            values
                .iter()
                .map(|v| IpNet::parse(v).ok_or_else(|| bad("an IP address or CIDR block", v)))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Lower-cases a key and folds the `ecs:tag/<k>` alias onto `acs:resourcetag/<k>`.
pub(crate) fn canonical_key(key: &str) -> String {
    let lower = key.to_lowercase();
    match lower.strip_prefix("ecs:tag/") {
        Some(tag) => format!("acs:resourcetag/{tag}"),
        None => lower,
    }
}

/// Strict decimal: optional sign, digits, optional fraction. No exponent, `inf` or `NaN`.
fn parse_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let ok = all_digits(int)
        && frac.is_none_or(|f| all_digits(f) && !f.is_empty())
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    if ok { s.parse().ok() } else { None }
}

/// ISO 8601 instant (RFC 3339 and the wider ISO 8601 forms `time` accepts); a date or date-time
/// without an offset is taken as UTC.
fn parse_date(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(s, &Iso8601::DEFAULT))
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(s, &Iso8601::DEFAULT)
                .ok()
                .map(PrimitiveDateTime::assume_utc)
        })
        .or_else(|| {
            Date::parse(s, &Iso8601::DEFAULT)
                .ok()
                .map(|d| d.midnight().assume_utc())
        })
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A request IP; IPv4-mapped IPv6 peers (dual-stack sockets) count as their IPv4 address.
fn parse_request_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// An IP address or CIDR block from a policy (`10.0.0.0/8`, `203.0.113.7`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&p| p <= max)?
            }
            Some(_) => return None,
        };
        Some(IpNet { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Everything a decision depends on: the action, the resource(s) to authorize, and the values
/// of the condition keys.
///
/// The server builds one per request: the action and resource ARNs from the action table
/// (spec §3.4–3.6), the global keys from the connection and credentials (§1.5). Key names are
/// case-insensitive. A key that is never set is "absent" (§1.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    action: String,
    resources: Vec<RequestResource>,
    keys: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestResource {
    arn: String,
    /// Per-resource keys (its tags as `acs:resourcetag/<k>`), consulted before the global keys.
    keys: BTreeMap<String, Vec<String>>,
}

impl RequestContext {
    /// A context for `action` (e.g. `ecs:DeleteImage`) with no resources and no keys yet.
    pub fn new(action: impl Into<String>) -> Self {
        RequestContext {
            action: action.into(),
            ..Self::default()
        }
    }

    /// The action being authorized.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The resources to authorize, in order; each must be allowed (spec §3.6).
    pub fn resources(&self) -> impl ExactSizeIterator<Item = &str> {
        self.resources.iter().map(|r| r.arn.as_str())
    }

    /// Adds a resource to authorize: an ARN, or the literal `*` for All-Resources actions.
    pub fn with_resource(mut self, arn: impl Into<String>) -> Self {
        self.resources.push(RequestResource {
            arn: arn.into(),
            keys: BTreeMap::new(),
        });
        self
    }

    /// Adds a resource together with its tags, which back `acs:ResourceTag/<key>` (and its alias
    /// `ecs:tag/<key>`) while that resource is evaluated.
    pub fn with_tagged_resource<K, V>(
        mut self,
        arn: impl Into<String>,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut keys = BTreeMap::new();
        for (k, v) in tags {
            let key = canonical_key(&format!("{}{}", keys::RESOURCE_TAG_PREFIX, k.as_ref()));
            keys.entry(key).or_insert_with(Vec::new).push(v.into());
        }
        self.resources.push(RequestResource {
            arn: arn.into(),
            keys,
        });
        self
    }

    /// Adds one value to a (global) condition key; a key may hold several values.
    pub fn with_key(mut self, key: &str, value: impl Into<String>) -> Self {
        self.keys
            .entry(canonical_key(key))
            .or_default()
            .push(value.into());
        self
    }

    /// `acs:SourceIp`: the TCP peer address (spec §1.5).
    pub fn with_source_ip(self, ip: IpAddr) -> Self {
        self.with_key(keys::SOURCE_IP, ip.to_canonical().to_string())
    }

    /// `acs:CurrentTime`: when the request was received, written as an RFC 3339 UTC instant.
    pub fn with_current_time(self, now: OffsetDateTime) -> Self {
        let utc = now.to_offset(time::UtcOffset::UTC);
        match utc
            .format(&Rfc3339)
            .or_else(|_| utc.format(&Iso8601::DEFAULT))
        {
            Ok(s) => self.with_key(keys::CURRENT_TIME, s),
            Err(_) => self,
        }
    }

    /// `acs:SecureTransport`: whether the request came over HTTPS.
    pub fn with_secure_transport(self, https: bool) -> Self {
        self.with_key(keys::SECURE_TRANSPORT, https.to_string())
    }

    /// `acs:MFAPresent`. The spec recommends never setting it for API calls (§1.5).
    pub fn with_mfa_present(self, present: bool) -> Self {
        self.with_key(keys::MFA_PRESENT, present.to_string())
    }

    /// `acs:AccessId`: the AccessKey ID that signed the request.
    pub fn with_access_id(self, access_key_id: impl Into<String>) -> Self {
        self.with_key(keys::ACCESS_ID, access_key_id)
    }

    /// `acs:PrincipalARN`: the caller's ARN (for role sessions, the role ARN — open question 12).
    pub fn with_principal_arn(self, arn: impl Into<String>) -> Self {
        self.with_key(keys::PRINCIPAL_ARN, arn)
    }

    /// The values of a global key, if set (key names are case-insensitive).
    pub fn key_values(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&canonical_key(key)).map(Vec::as_slice)
    }

    /// Resource-specific keys first, then the global ones. `canonical` is already canonical.
    pub(crate) fn lookup(&self, canonical: &str, resource: Option<usize>) -> Option<&[String]> {
        resource
            .and_then(|i| self.resources.get(i))
            .and_then(|r| r.keys.get(canonical))
            .or_else(|| self.keys.get(canonical))
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &str) -> Result<Condition, PolicyError> {
        let text = format!(r#"{{"{op}":{{"{key}":{values}}}}}"#);
        let json = crate::json::parse(&text).unwrap();
        parse_block(&json).map(|mut v| v.remove(0))
    }

    fn holds(op: &str, key: &str, values: &str, ctx: &RequestContext) -> bool {
        cond(op, key, values).unwrap().evaluate(ctx, None)
    }

    #[test]
    fn operator_names_round_trip() {
        assert_eq!(Operator::all().count(), 21);
        for op in Operator::all() {
            assert_eq!(Operator::from_name(op.name()), Some(op));
        }
        assert_eq!(Operator::from_name("stringequals"), None);
    }

    #[test]
    fn string_family() {
        let ctx = RequestContext::new("a:b").with_key("acs:UserAgent", "Aliyun-CLI/3.0");
        assert!(holds(
            "StringEquals",
            "acs:UserAgent",
            r#""Aliyun-CLI/3.0""#,
            &ctx
        ));
        assert!(!holds(
            "StringEquals",
            "acs:UserAgent",
            r#""aliyun-cli/3.0""#,
            &ctx
        ));
        assert!(holds(
            "StringEqualsIgnoreCase",
            "acs:UserAgent",
            r#""aliyun-cli/3.0""#,
            &ctx
        ));
        assert!(holds(
            "StringNotEqualsIgnoreCase",
            "acs:UserAgent",
            r#""x""#,
            &ctx
        ));
        assert!(!holds(
            "StringNotEqualsIgnoreCase",
            "acs:UserAgent",
            r#"["x","ALIYUN-cli/3.0"]"#,
            &ctx
        ));
        assert!(holds(
            "StringLike",
            "acs:UserAgent",
            r#""Aliyun-CLI/*""#,
            &ctx
        ));
        assert!(!holds(
            "StringLike",
            "acs:UserAgent",
            r#""aliyun-CLI/*""#,
            &ctx
        ));
        assert!(holds(
            "StringNotLike",
            "acs:UserAgent",
            r#"["curl/*","*Python*"]"#,
            &ctx
        ));
        assert!(!holds(
            "StringNotLike",
            "acs:UserAgent",
            r#"["curl/*","*CLI*"]"#,
            &ctx
        ));
        assert!(holds(
            "StringNotEquals",
            "acs:UserAgent",
            r#"["a","b"]"#,
            &ctx
        ));
    }

    #[test]
    fn key_names_are_case_insensitive() {
        let ctx = RequestContext::new("a:b").with_key("ACS:sourcevpc", "vpc-1");
        assert!(holds("StringEquals", "acs:SourceVpc", r#""vpc-1""#, &ctx));
        assert_eq!(
            ctx.key_values("acs:SourceVPC"),
            Some(&["vpc-1".to_string()][..])
        );
    }

    #[test]
    fn missing_keys() {
        let ctx = RequestContext::new("a:b");
        for op in Operator::all() {
            let v = match op.family() {
                Family::String => r#""x""#,
                Family::Number => r#""1""#,
                Family::Date => r#""2030-01-01T00:00:00Z""#,
                Family::Bool => r#""true""#,
                Family::Ip => r#""10.0.0.0/8""#,
            };
            assert_eq!(
                holds(op.name(), "acs:Missing", v, &ctx),
                op.is_negated(),
                "{op}"
            );
        }
    }

    #[test]
    fn numeric_family() {
        let ctx = RequestContext::new("a:b").with_key("ecs:Count", "10");
        assert!(holds("NumericEquals", "ecs:Count", r#""10.0""#, &ctx));
        assert!(holds("NumericEquals", "ecs:Count", "10", &ctx));
        assert!(holds(
            "NumericNotEquals",
            "ecs:Count",
            r#"["9","11"]"#,
            &ctx
        ));
        assert!(!holds(
            "NumericNotEquals",
            "ecs:Count",
            r#"["9","10"]"#,
            &ctx
        ));
        assert!(holds("NumericLessThan", "ecs:Count", r#""10.5""#, &ctx));
        assert!(!holds("NumericLessThan", "ecs:Count", r#""10""#, &ctx));
        assert!(holds("NumericLessThanEquals", "ecs:Count", r#""10""#, &ctx));
        assert!(holds("NumericGreaterThan", "ecs:Count", r#""-3""#, &ctx));
        assert!(holds(
            "NumericGreaterThanEquals",
            "ecs:Count",
            r#""10""#,
            &ctx
        ));
        assert!(!holds("NumericGreaterThan", "ecs:Count", r#""10""#, &ctx));
        let garbage = RequestContext::new("a:b").with_key("ecs:Count", "ten");
        assert!(!holds("NumericEquals", "ecs:Count", r#""10""#, &garbage));
        assert!(holds("NumericNotEquals", "ecs:Count", r#""10""#, &garbage));
        for bad in [
            r#""ten""#, r#""1e3""#, r#""NaN""#, r#""inf""#, r#""""#, r#""1.""#, r#""-""#,
        ] {
            assert!(cond("NumericEquals", "ecs:Count", bad).is_err(), "{bad}");
        }
        assert!(cond("NumericEquals", "ecs:Count", r#"".5""#).is_ok());
    }

    #[test]
    fn date_family() {
        let ctx = RequestContext::new("a:b")
            .with_current_time(time::macros::datetime!(2025-06-01 12:00:00 UTC));
        assert_eq!(
            ctx.key_values("acs:CurrentTime"),
            Some(&["2025-06-01T12:00:00Z".to_string()][..])
        );
        assert!(holds(
            "DateLessThan",
            "acs:CurrentTime",
            r#""2030-01-01T00:00:00Z""#,
            &ctx
        ));
        assert!(!holds(
            "DateGreaterThan",
            "acs:CurrentTime",
            r#""2030-01-01T00:00:00Z""#,
            &ctx
        ));
        assert!(holds(
            "DateEquals",
            "acs:CurrentTime",
            r#""2025-06-01T20:00:00+08:00""#,
            &ctx
        ));
        assert!(holds(
            "DateNotEquals",
            "acs:CurrentTime",
            r#""2025-06-01T12:00:01Z""#,
            &ctx
        ));
        assert!(holds(
            "DateLessThanEquals",
            "acs:CurrentTime",
            r#""2025-06-01T12:00:00Z""#,
            &ctx
        ));
        assert!(holds(
            "DateGreaterThanEquals",
            "acs:CurrentTime",
            r#""2025-06-01""#,
            &ctx
        ));
        assert!(holds(
            "DateGreaterThan",
            "acs:CurrentTime",
            r#""2025-06-01T11:59:59""#,
            &ctx
        ));
        assert!(cond("DateEquals", "acs:CurrentTime", r#""tomorrow""#).is_err());
        assert!(cond("DateEquals", "acs:CurrentTime", r#""2025-13-01T00:00:00Z""#).is_err());
    }

    #[test]
    fn bool_family() {
        let ctx = RequestContext::new("a:b").with_secure_transport(true);
        assert!(holds("Bool", "acs:SecureTransport", r#""true""#, &ctx));
        assert!(holds("Bool", "acs:SecureTransport", "true", &ctx));
        assert!(holds("Bool", "acs:SecureTransport", r#"["TRUE"]"#, &ctx));
        assert!(!holds("Bool", "acs:SecureTransport", r#""false""#, &ctx));
        // MFAPresent is absent for AccessKey calls: a Bool test never matches (spec §1.4, observed).
        assert!(!holds("Bool", "acs:MFAPresent", r#""true""#, &ctx));
        assert!(!holds("Bool", "acs:MFAPresent", r#""false""#, &ctx));
        let e = cond("Bool", "acs:SecureTransport", r#"["true","false"]"#).unwrap_err();
        assert!(
            e.message()
                .starts_with("Invalid condition multiple Boolean"),
            "{e}"
        );
        assert!(cond("Bool", "acs:SecureTransport", r#""yes""#).is_err());
    }

    #[test]
    fn ip_family() {
        let ctx = RequestContext::new("a:b").with_source_ip("203.0.113.7".parse().unwrap());
        assert!(holds(
            "IpAddress",
            "acs:SourceIp",
            r#""203.0.113.0/24""#,
            &ctx
        ));
        assert!(holds("IpAddress", "acs:SourceIp", r#""203.0.113.7""#, &ctx));
        assert!(holds(
            "IpAddress",
            "acs:SourceIp",
            r#""203.0.113.7/32""#,
            &ctx
        ));
        assert!(holds("IpAddress", "acs:SourceIp", r#""0.0.0.0/0""#, &ctx));
        assert!(holds(
            "IpAddress",
            "acs:SourceIp",
            r#""203.0.113.99/24""#,
            &ctx
        ));
        assert!(!holds(
            "IpAddress",
            "acs:SourceIp",
            r#"["10.0.0.0/8","192.168.0.0/16"]"#,
            &ctx
        ));
        assert!(holds(
            "NotIpAddress",
            "acs:SourceIp",
            r#"["10.0.0.0/8","192.168.0.0/16"]"#,
            &ctx
        ));
        assert!(!holds("IpAddress", "acs:SourceIp", r#""::/0""#, &ctx));
        let mapped = RequestContext::new("a:b").with_source_ip("::ffff:10.1.2.3".parse().unwrap());
        assert!(holds(
            "IpAddress",
            "acs:SourceIp",
            r#""10.0.0.0/8""#,
            &mapped
        ));
        let v6 = RequestContext::new("a:b").with_source_ip("2001:db8::1".parse().unwrap());
        assert!(holds(
            "IpAddress",
            "acs:SourceIp",
            r#""2001:db8::/32""#,
            &v6
        ));
        assert!(!holds(
            "IpAddress",
            "acs:SourceIp",
            r#""2001:db9::/32""#,
            &v6
        ));
        assert!(holds("IpAddress", "acs:SourceIp", r#""::/0""#, &v6));
        for bad in [
            r#""10.0.0.0/33""#,
            r#""10.0.0/8""#,
            r#""host""#,
            r#""10.0.0.0/""#,
            r#""::/129""#,
            r#""1.2.3.4/+8""#,
        ] {
            assert!(cond("IpAddress", "acs:SourceIp", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_tags_and_alias() {
        let ctx = RequestContext::new("ecs:DeleteImage")
            .with_tagged_resource("acs:ecs:r:1:image/m-1", [("env", "prod")])
            .with_resource("acs:ecs:r:1:image/m-2");
        let c = cond("StringEquals", "acs:ResourceTag/env", r#""prod""#).unwrap();
        assert!(c.evaluate(&ctx, Some(0)));
        assert!(!c.evaluate(&ctx, Some(1)));
        let alias = cond("StringEquals", "ecs:tag/ENV", r#""prod""#).unwrap();
        assert!(alias.evaluate(&ctx, Some(0)));
    }

    #[test]
    fn principal_arn_is_case_insensitive() {
        let ctx = RequestContext::new("a:b").with_principal_arn("acs:ram::1:role/ImgAdmin");
        assert!(holds(
            "StringEquals",
            "acs:PrincipalARN",
            r#""acs:ram::1:role/imgadmin""#,
            &ctx
        ));
        assert!(holds(
            "StringLike",
            "acs:PrincipalARN",
            r#""acs:ram::1:role/img*""#,
            &ctx
        ));
    }

    #[test]
    fn operator_errors() {
        let e = cond("StringEqualsIfExists", "acs:SourceVpc", r#""x""#).unwrap_err();
        assert_eq!(
            e.message(),
            "The condition operator 'IfExists/Null' is not supported"
        );
        let e = cond("Null", "acs:SourceVpc", r#""true""#).unwrap_err();
        assert_eq!(
            e.message(),
            "The condition operator 'IfExists/Null' is not supported"
        );
        let e = cond("ForAnyValue:StringEquals", "acs:TagKeys", r#""x""#).unwrap_err();
        assert!(e.message().starts_with("Invalid condition operator"));
        let e = cond("stringequals", "acs:SourceVpc", r#""x""#).unwrap_err();
        assert!(e.message().starts_with("Invalid condition operator"));
        let e = cond("StringEquals", "SourceVpc", r#""x""#).unwrap_err();
        assert!(e.message().starts_with("Invalid condition key format"));
        let e = cond("StringEquals", "acs:SourceVpc", r#"[]"#).unwrap_err();
        assert_eq!(e.code(), "MalformedPolicyDocument");
        let e = cond("StringEquals", "acs:SourceVpc", r#"{"a":"b"}"#).unwrap_err();
        assert!(e.message().starts_with("Data type mismatch"));
        let e = cond("StringEquals", "acs:SourceVpc", r#"null"#).unwrap_err();
        assert!(e.message().starts_with("Data type mismatch"));
    }
}
