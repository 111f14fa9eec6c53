//! STS (2015-04-01): AssumeRole issues temporary credentials for a role; GetCallerIdentity says
//! who signed. Plus RAM's DecodeDiagnosticMessage, which reads back what a denial encoded.

use super::authz::{base_context, denied, load};
use super::common::{RamCtx, object, policy_error, ram_arn, random_alnum, time};
use super::roles::role_arn;
use crate::auth::Principal;
use crate::handlers::Reply;
use base64::Engine as _;
use ecsim_core::model::{AccountId, Secret};
use ecsim_ram::{PolicyDocument, PolicyRef, TrustPrincipal, authorize_assume_role};
use ecsim_store::StsSession;
use ecsim_wire::{ApiError, Code};
use serde_json::{Value, json};

pub const MIN_DURATION_SECONDS: i64 = 900;
pub const DEFAULT_DURATION_SECONDS: i64 = 3600;
/// Expired sessions are forgotten this long after they expire.
const KEEP_EXPIRED_MS: i64 = 24 * 3600 * 1000;

fn bad_role_arn() -> ApiError {
    ApiError::invalid_parameter_dotted("RoleArn", "The parameter RoleArn is wrongly formed.")
}

/// `acs:ram::<uid>:role/<name>` → (uid, name).
fn parse_role_arn(arn: &str) -> Result<(AccountId, String), ApiError> {
    let parts: Vec<&str> = arn.splitn(5, ':').collect();
    let [prefix, service, _region, account, relative] = parts.as_slice() else {
        return Err(bad_role_arn());
    };
    if !prefix.eq_ignore_ascii_case("acs") || !service.eq_ignore_ascii_case("ram") {
        return Err(bad_role_arn());
    }
    let account: AccountId = account.parse().map_err(|_| bad_role_arn())?;
    let name = relative
        .strip_prefix("role/")
        .filter(|n| super::common::check_role_name("RoleArn", n).is_ok())
        .ok_or_else(bad_role_arn)?;
    Ok((account, name.to_string()))
}

fn check_session_name(name: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter_dotted(
            "RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ))
    }
}

fn duration_error(max: i64) -> ApiError {
    ApiError::invalid_parameter_dotted(
        "DurationSeconds",
        format!("The Min/Max value of DurationSeconds is {MIN_DURATION_SECONDS}s/{max}s."),
    )
}

pub fn assume_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let (account, role_name) = parse_role_arn(ctx.required("RoleArn")?)?;
    let session_name = ctx.required("RoleSessionName")?.to_string();
    check_session_name(&session_name)?;
    let session_policy = ctx.optional("Policy").map(str::to_string);
    if let Some(text) = &session_policy {
        PolicyDocument::parse_session(text).map_err(|e| policy_error(&e))?;
    }
    let duration = ctx
        .params
        .int("DurationSeconds")
        .map_err(|_| duration_error(DEFAULT_DURATION_SECONDS))?
        .unwrap_or(DEFAULT_DURATION_SECONDS);
    let caller = ctx.caller;
    let principal = match &caller.principal {
        Principal::Root => {
            return Err(ApiError::new(Code::NoPermissionSts)
                .with_message("Roles may not be assumed by root accounts."));
        }
        Principal::User { name, .. } => {
            TrustPrincipal::ram_user(&caller.account_id.to_string(), name)
        }
        Principal::RoleSession { role_name, .. } => {
            TrustPrincipal::ram_role(&caller.account_id.to_string(), role_name)
        }
    };
    let (role, loaded) = ctx.app.store.read(|tx| {
        let role = tx.ram_role(account, &role_name)?.ok_or_else(|| {
            ApiError::new(Code::EntityNotExistRole).with_message("The specified Role not exists.")
        })?;
        Ok((role, load(tx, caller)?))
    })?;
    if !(MIN_DURATION_SECONDS..=role.max_session_duration).contains(&duration) {
        return Err(duration_error(role.max_session_duration));
    }
    let trust = PolicyDocument::parse_trust(&role.trust_policy).map_err(|e| {
        tracing::error!(error = %e, role = %role.name, "stored trust policy does not parse");
        ApiError::new(Code::InternalError)
    })?;
    let arn = role_arn(&role);
    let request = base_context(ctx.now, caller, "sts:AssumeRole").with_resource(arn.clone());
    let decision = loaded.with_set(|set| {
        authorize_assume_role(
            set,
            PolicyRef::new("AssumeRolePolicy", &trust),
            &principal,
            &request,
        )
    });
    if !decision.is_allowed() {
        return Err(denied(
            Code::NoPermissionSts,
            caller,
            &request,
            &decision,
            Some(&loaded),
        ));
    }
    let session = StsSession {
        access_key_id: format!("STS.{}", random_alnum(25)),
        secret: Secret::new(random_alnum(44)),
        security_token: format!("CAIS{}", random_alnum(252)),
        account_id: role.account_id,
        role_id: role.id.clone(),
        role_name: role.name.clone(),
        session_name: session_name.clone(),
        session_policy,
        source_arn: caller.arn(),
        created_at: ctx.now,
        expires_at: ctx.now + duration * 1000,
    };
    ctx.app.store.write(|tx| {
        tx.delete_sts_sessions_before(ctx.now - KEEP_EXPIRED_MS)?;
        tx.insert_sts_session(&session)?;
        Ok(())
    })?;
    Ok(object(json!({
        "Credentials": {
            "AccessKeyId": session.access_key_id,
            "AccessKeySecret": session.secret.expose(),
            "SecurityToken": session.security_token,
            "Expiration": time(session.expires_at),
        },
        "AssumedRoleUser": {
            "Arn": format!("{arn}/{session_name}"),
            "AssumedRoleId": format!("{}:{session_name}", role.id),
        },
    })))
}

pub fn get_caller_identity(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let c = ctx.caller;
    let account = c.account_id.to_string();
    let body = match &c.principal {
        Principal::Root => json!({
            "AccountId": account,
            "UserId": account,
            "PrincipalId": account,
            "IdentityType": "Account",
            "Arn": ram_arn(&account, "root"),
        }),
        Principal::User { id, .. } => json!({
            "AccountId": account,
            "UserId": id,
            "PrincipalId": id,
            "IdentityType": "RAMUser",
            "Arn": c.arn(),
        }),
        Principal::RoleSession {
            role_id,
            session_name,
            ..
        } => json!({
            "AccountId": account,
            "RoleId": role_id,
            "PrincipalId": format!("{role_id}:{session_name}"),
            "IdentityType": "AssumedRoleUser",
            "Arn": c.arn(),
        }),
    };
    Ok(object(body))
}

/// RAM `DecodeDiagnosticMessage`: the trace behind a denial's `EncodedDiagnosticMessage`.
pub fn decode_diagnostic_message(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let encoded = ctx.required("EncodedDiagnosticMessage")?;
    let invalid = || {
        ApiError::invalid_parameter_dotted(
            "EncodedDiagnosticMessage",
            "The parameter - \"EncodedDiagnosticMessage\" is invalid.",
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    let decoded: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if decoded["AuthPrincipal"]["AuthPrincipalOwnerId"].as_str()
        != Some(ctx.account().to_string().as_str())
    {
        return Err(invalid());
    }
    Ok(object(json!({ "DecodedDiagnosticMessage": decoded })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_in_the_documented_shape_only() {
        assert_eq!(
            parse_role_arn("acs:ram::1234567890123456:role/ImgAdmin").ok(),
            Some((1234567890123456, "ImgAdmin".to_string()))
        );
        assert!(parse_role_arn("acs:ram::123:user/alice").is_err());
        assert!(parse_role_arn("acs:ecs::123:role/x").is_err());
        assert!(parse_role_arn("role/x").is_err());
        assert!(parse_role_arn("acs:ram::abc:role/x").is_err());
    }

    #[test]
    fn session_names() {
        assert!(check_session_name("alice").is_ok());
        assert!(check_session_name("a").is_err());
        assert!(check_session_name("has space").is_err());
        assert!(check_session_name(&"x".repeat(65)).is_err());
    }
}
