//! The explain mode (`ecsim admin explain`): for an AccessKey, an action and resources, which
//! policies were considered, statement by statement, and why nothing allowed — the same inputs
//! and the same decision as a real request, with the full trace.

use super::authz::{SESSION_POLICY_NAME, base_context, load};
use crate::auth::{Caller, Principal};
use ecsim_core::Millis;
use ecsim_core::clock::format_time;
use ecsim_core::model::KeyStatus;
use ecsim_store::{PolicyOrigin, PrincipalKind, Store};
use ecsim_wire::{ApiError, Code};
use std::fmt::Write as _;
use std::net::IpAddr;

/// What to explain.
pub struct Question<'a> {
    pub access_key_id: &'a str,
    /// `ecs:DeleteImage`; a bare operation name means an ECS one.
    pub action: &'a str,
    /// ARNs (or `*`); none means `*`.
    pub resources: &'a [String],
    pub source_ip: Option<IpAddr>,
    pub now: Millis,
}

/// The caller behind a key, whatever its state, and what would stop it before authorization.
fn resolve(store: &Store, q: &Question<'_>) -> Result<(Caller, Vec<String>), ApiError> {
    let id = q.access_key_id;
    let (account_id, principal, notes) = store.read(|tx| {
        let mut notes = Vec::new();
        if id.starts_with("STS.") {
            let s = tx
                .sts_session(id)?
                .ok_or_else(|| ApiError::new(Code::InvalidAccessKeyIdNotFound))?;
            if s.expires_at <= q.now {
                notes.push(format!(
                    "this STS token expired at {}: requests are refused with InvalidSecurityToken.Expired before any policy is evaluated",
                    format_time(s.expires_at)
                ));
            }
            return Ok((
                s.account_id,
                Principal::RoleSession {
                    role_id: s.role_id,
                    role_name: s.role_name,
                    session_name: s.session_name,
                    session_policy: s.session_policy,
                },
                notes,
            ));
        }
        if let Some(k) = tx.access_key(id)? {
            if k.status != KeyStatus::Active {
                notes.push("this key is Inactive: requests are refused with InvalidAccessKeyId.Inactive".into());
            }
            return Ok((k.account_id, Principal::Root, notes));
        }
        let k = tx
            .user_access_key(id)?
            .ok_or_else(|| ApiError::new(Code::InvalidAccessKeyIdNotFound))?;
        if k.status != KeyStatus::Active {
            notes.push("this key is Inactive: requests are refused with InvalidAccessKeyId.Inactive before any policy is evaluated".into());
        }
        let user = tx
            .ram_user_by_id(&k.user_id)?
            .ok_or_else(|| ApiError::new(Code::InvalidAccessKeyIdNotFound))?;
        Ok((
            k.account_id,
            Principal::User {
                id: user.id,
                name: user.name,
            },
            notes,
        ))
    })?;
    Ok((
        Caller {
            account_id,
            access_key_id: id.to_string(),
            principal,
            source_ip: q.source_ip,
            policies: None,
        },
        notes,
    ))
}

fn via(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "attached to the user",
        PrincipalKind::Group => "attached to one of its groups",
        PrincipalKind::Role => "attached to the role",
    }
}

/// A plain-text report: the principal, the policies considered and the evaluator's trace.
pub fn explain_access(store: &Store, q: &Question<'_>) -> Result<String, ApiError> {
    let (caller, notes) = resolve(store, q)?;
    let mut out = String::new();
    let kind = match &caller.principal {
        Principal::Root => "the account's root key",
        Principal::User { .. } => "a RAM user",
        Principal::RoleSession { .. } => "an STS session of a role",
    };
    let _ = writeln!(out, "principal: {} ({kind})", caller.arn());
    for note in &notes {
        let _ = writeln!(out, "note: {note}");
    }
    let action = if q.action.contains(':') {
        q.action.to_string()
    } else {
        format!("ecs:{}", q.action)
    };
    if caller.is_root() {
        let _ = writeln!(
            out,
            "{action}: Allow (the root key is not subject to policies; nothing is evaluated)"
        );
        return Ok(out);
    }
    let loaded = store.read(|tx| load(tx, &caller))?;
    let _ = writeln!(out, "policies considered:");
    if loaded.identity.is_empty() && loaded.session.is_none() {
        let _ = writeln!(out, "  none: nothing can allow anything (default deny)");
    }
    for p in loaded.identity.iter() {
        let version = match p.origin {
            PolicyOrigin::System => "system policy",
            PolicyOrigin::Custom => "custom policy, default version",
        };
        let _ = writeln!(out, "  {} ({version}, {})", p.name, via(p.attached_to));
    }
    if loaded.session.is_some() {
        let _ = writeln!(
            out,
            "  {SESSION_POLICY_NAME} (AssumeRole's Policy: it must allow too)"
        );
    }
    let mut ctx = base_context(q.now, &caller, &action);
    if q.resources.is_empty() {
        ctx = ctx.with_resource("*");
    }
    for r in q.resources {
        ctx = ctx.with_resource(r.clone());
    }
    let explanation = loaded.with_set(|set| ecsim_ram::explain(set, &ctx));
    let _ = write!(out, "{explanation}");
    Ok(out)
}
