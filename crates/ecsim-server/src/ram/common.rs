//! What every RAM and STS handler shares: the request context, parameter checks with RAM's
//! error codes, paging, ids and time formatting.

use crate::auth::{Caller, Principal};
use crate::handlers::Reply;
use crate::state::AppState;
use ecsim_core::Millis;
use ecsim_core::clock::format_time;
use ecsim_core::model::AccountId;
use ecsim_ram::PolicyError;
use ecsim_store::PolicyOrigin;
use ecsim_wire::{ApiError, Code, Params};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value};

/// A RAM or STS request on its way through a handler.
pub struct RamCtx<'a> {
    pub app: &'a AppState,
    pub caller: &'a Caller,
    pub params: &'a Params,
    pub now: Millis,
}

impl RamCtx<'_> {
    pub fn account(&self) -> AccountId {
        self.caller.account_id
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .get_nonempty(name)
            .ok_or_else(|| ApiError::missing(name))
    }

    pub fn optional(&self, name: &str) -> Option<&str> {
        self.params.get_nonempty(name)
    }

    /// `UserName`, or when absent the calling RAM user's own name (CreateAccessKey and friends).
    pub fn user_name_or_self(&self) -> Result<String, ApiError> {
        match (self.params.get_nonempty("UserName"), &self.caller.principal) {
            (Some(name), _) => Ok(name.to_string()),
            (None, Principal::User { name, .. }) => Ok(name.clone()),
            (None, _) => Err(ApiError::missing("UserName")),
        }
    }
}

/// Turns a JSON object literal into a reply.
pub fn object(value: Value) -> Reply {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub fn time(at: Millis) -> String {
    format_time(at)
}

/// 400 `InvalidParameter.{Param}.Length` "The parameter - "{Param}" beyond the length limit."
pub fn too_long(param: &str) -> ApiError {
    ApiError::invalid_parameter_dotted(
        &format!("{param}.Length"),
        format!("The parameter - \"{param}\" beyond the length limit."),
    )
}

/// 400 `InvalidParameter.{Param}.InvalidChars`.
pub fn invalid_chars(param: &str) -> ApiError {
    ApiError::invalid_parameter_dotted(
        &format!("{param}.InvalidChars"),
        format!("The parameter - \"{param}\" contains invalid chars."),
    )
}

/// 400 `InvalidParameter.{Param}.Format`.
pub fn bad_format(param: &str) -> ApiError {
    ApiError::invalid_parameter_dotted(
        &format!("{param}.Format"),
        format!("The format of the parameter - \"{param}\" is incorrect."),
    )
}

/// A name of 1..=`max` characters drawn from ASCII alphanumerics and `extra`.
pub fn check_name(param: &str, value: &str, max: usize, extra: &str) -> Result<(), ApiError> {
    if value.is_empty() || value.chars().count() > max {
        return Err(too_long(param));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    {
        return Err(invalid_chars(param));
    }
    Ok(())
}

/// User names: 1–64 of `[A-Za-z0-9.@_-]` (spec §2).
pub fn check_user_name(param: &str, value: &str) -> Result<(), ApiError> {
    check_name(param, value, 64, ".@_-")
}

/// Group names: 1–64 of `[A-Za-z0-9-]`.
pub fn check_group_name(param: &str, value: &str) -> Result<(), ApiError> {
    check_name(param, value, 64, "-")
}

/// Role names: 1–64 of `[A-Za-z0-9.@-]`.
pub fn check_role_name(param: &str, value: &str) -> Result<(), ApiError> {
    check_name(param, value, 64, ".@-")
}

/// Policy names: 1–128 of `[A-Za-z0-9-]`.
pub fn check_policy_name(param: &str, value: &str) -> Result<(), ApiError> {
    check_name(param, value, 128, "-")
}

/// Free text of at most `max` characters.
pub fn check_text(param: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(too_long(param));
    }
    Ok(())
}

/// `86-1860000xxxx`: a country code, a dash, digits.
pub fn check_mobile_phone(param: &str, value: &str) -> Result<(), ApiError> {
    let ok = value.split_once('-').is_some_and(|(cc, number)| {
        (1..=4).contains(&cc.len())
            && cc.bytes().all(|b| b.is_ascii_digit())
            && (4..=20).contains(&number.len())
            && number.bytes().all(|b| b.is_ascii_digit())
    });
    if ok { Ok(()) } else { Err(bad_format(param)) }
}

pub fn check_email(param: &str, value: &str) -> Result<(), ApiError> {
    let ok = value.len() <= 128
        && value
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !value.chars().any(char::is_whitespace);
    if ok { Ok(()) } else { Err(bad_format(param)) }
}

/// `PolicyType`: exactly `System` or `Custom`.
pub fn policy_origin(ctx: &RamCtx<'_>) -> Result<PolicyOrigin, ApiError> {
    let text = ctx.required("PolicyType")?;
    PolicyOrigin::parse(text).ok_or_else(|| {
        ApiError::invalid_parameter_dotted(
            "PolicyType",
            "The parameter - \"PolicyType\" is incorrect.",
        )
    })
}

/// A policy document the engine refused, with the engine's own code (`MalformedPolicyDocument`,
/// `InvalidParameter.PolicyDocument.Length`, STS's `InvalidParameter.PolicyGrammar`, …).
pub fn policy_error(err: &PolicyError) -> ApiError {
    let message = err.message().to_string();
    match err.code().strip_prefix("InvalidParameter.") {
        Some(suffix) => ApiError::invalid_parameter_dotted(suffix, message),
        None => ApiError::new(Code::MalformedPolicyDocument).with_message(message),
    }
}

/// `Marker` (the opaque continuation of a previous page; ours is an offset) and `MaxItems`
/// (1–1,000, default 100).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub offset: u64,
    pub limit: u64,
}

impl Paging {
    pub fn from_ctx(ctx: &RamCtx<'_>) -> Result<Self, ApiError> {
        let limit = match ctx.params.get_nonempty("MaxItems") {
            None => 100,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ApiError::invalid_parameter_dotted(
                        "MaxItems",
                        "The parameter - \"MaxItems\" MUST be in the range of 1 and 1000.",
                    ));
                }
            },
        };
        let offset = match ctx.params.get_nonempty("Marker") {
            None => 0,
            Some(m) => m.parse::<u64>().map_err(|_| {
                ApiError::invalid_parameter_dotted(
                    "Marker",
                    "The parameter - \"Marker\" is invalid.",
                )
            })?,
        };
        Ok(Paging { offset, limit })
    }

    /// Ask the store for one more row than the page holds, to tell whether another page follows.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// Cuts the extra row and adds `IsTruncated` (and `Marker` when truncated) to `reply`.
    pub fn finish<T>(&self, mut rows: Vec<T>, reply: &mut Reply) -> Vec<T> {
        let truncated = rows.len() as u64 > self.limit;
        rows.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        reply.insert("IsTruncated".into(), Value::Bool(truncated));
        if truncated {
            reply.insert(
                "Marker".into(),
                Value::String((self.offset + self.limit).to_string()),
            );
        }
        rows
    }
}

/// `n` random ASCII digits, the first not zero.
pub fn numeric_id(n: usize) -> String {
    let mut rng = rand::rng();
    let first = char::from(b'1' + rng.random_range(0..9u8));
    std::iter::once(first)
        .chain((1..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))))
        .collect()
}

pub fn random_alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// The RAM ARN of an entity of `account`: `acs:ram::<uid>:<relative>`.
pub fn ram_arn(account: impl std::fmt::Display, relative: &str) -> String {
    format!("acs:ram::{account}:{relative}")
}
