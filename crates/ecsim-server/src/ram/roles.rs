//! RAM roles: a trust policy saying who may assume them, a maximum session duration, and the
//! policies their sessions act with (spec ram-authorization §5.1, §5.3, §6).

use super::common::{
    Paging, RamCtx, check_role_name, check_text, numeric_id, object, policy_error, ram_arn, time,
};
use crate::handlers::Reply;
use ecsim_ram::PolicyDocument;
use ecsim_store::{PrincipalKind, RamRole, Tx};
use ecsim_wire::{ApiError, Code};
use serde_json::{Value, json};

/// Roles per account (spec §2).
pub const MAX_ROLES: u64 = 1000;
pub const MIN_SESSION_SECONDS: i64 = 3600;
pub const MAX_SESSION_SECONDS: i64 = 43200;

pub fn role_arn(role: &RamRole) -> String {
    ram_arn(role.account_id, &format!("role/{}", role.name))
}

fn present(role: &RamRole) -> Value {
    json!({
        "RoleId": role.id,
        "RoleName": role.name,
        "Arn": role_arn(role),
        "Description": role.description,
        "AssumeRolePolicyDocument": role.trust_policy,
        "MaxSessionDuration": role.max_session_duration,
        "CreateDate": time(role.created_at),
        "UpdateDate": time(role.updated_at),
    })
}

pub fn existing_role(tx: &mut dyn Tx, ctx: &RamCtx<'_>, name: &str) -> Result<RamRole, ApiError> {
    tx.ram_role(ctx.account(), name)?
        .ok_or_else(|| ApiError::new(Code::EntityNotExistRole))
}

fn role_name(ctx: &RamCtx<'_>) -> Result<String, ApiError> {
    let name = ctx.required("RoleName")?;
    check_role_name("RoleName", name)?;
    Ok(name.to_string())
}

fn trust_policy(text: &str) -> Result<(), ApiError> {
    PolicyDocument::parse_trust(text)
        .map(|_| ())
        .map_err(|e| policy_error(&e))
}

fn session_duration(ctx: &RamCtx<'_>, param: &str) -> Result<Option<i64>, ApiError> {
    match ctx.params.int(param) {
        Ok(None) => Ok(None),
        Ok(Some(n)) if (MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::invalid_parameter_dotted(
            param,
            format!(
                "The parameter - \"{param}\" MUST be in the range of {MIN_SESSION_SECONDS} and {MAX_SESSION_SECONDS}."
            ),
        )),
    }
}

pub fn create_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = role_name(ctx)?;
    let trust = ctx.required("AssumeRolePolicyDocument")?.to_string();
    let description = ctx.optional("Description").unwrap_or_default().to_string();
    check_text("Description", &description, 1024)?;
    let max = session_duration(ctx, "MaxSessionDuration")?.unwrap_or(MIN_SESSION_SECONDS);
    trust_policy(&trust)?;
    let role = ctx.app.store.write(|tx| {
        if tx.ram_role(ctx.account(), &name)?.is_some() {
            return Err(ApiError::new(Code::EntityAlreadyExistsRole));
        }
        if tx.count_ram_roles(ctx.account())? >= MAX_ROLES {
            return Err(ApiError::new(Code::LimitExceededRole));
        }
        let role = RamRole {
            id: numeric_id(18),
            account_id: ctx.account(),
            name,
            description,
            trust_policy: trust,
            max_session_duration: max,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        tx.insert_ram_role(&role)?;
        Ok(role)
    })?;
    let mut shown = present(&role);
    if let Some(map) = shown.as_object_mut() {
        map.remove("UpdateDate");
    }
    Ok(object(json!({ "Role": shown })))
}

pub fn get_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = role_name(ctx)?;
    let role = ctx.app.store.read(|tx| existing_role(tx, ctx, &name))?;
    Ok(object(json!({ "Role": present(&role) })))
}

pub fn update_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = role_name(ctx)?;
    let trust = ctx
        .optional("NewAssumeRolePolicyDocument")
        .map(str::to_string);
    if let Some(t) = &trust {
        trust_policy(t)?;
    }
    let description = ctx.params.get("NewDescription").map(str::to_string);
    if let Some(d) = &description {
        check_text("NewDescription", d, 1024)?;
    }
    let max = session_duration(ctx, "NewMaxSessionDuration")?;
    let role = ctx.app.store.write(|tx| {
        let mut role = existing_role(tx, ctx, &name)?;
        if let Some(t) = trust {
            role.trust_policy = t;
        }
        if let Some(d) = description {
            role.description = d;
        }
        if let Some(m) = max {
            role.max_session_duration = m;
        }
        role.updated_at = ctx.now;
        tx.update_ram_role(&role)?;
        Ok(role)
    })?;
    Ok(object(json!({ "Role": present(&role) })))
}

pub fn list_roles(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let paging = Paging::from_ctx(ctx)?;
    let roles = ctx
        .app
        .store
        .read(|tx| Ok(tx.ram_roles(ctx.account(), paging.offset, paging.fetch())?))?;
    let mut reply = Reply::new();
    let roles = paging.finish(roles, &mut reply);
    let shown: Vec<Value> = roles
        .iter()
        .map(|r| {
            let mut v = present(r);
            if let Some(map) = v.as_object_mut() {
                map.remove("AssumeRolePolicyDocument");
            }
            v
        })
        .collect();
    reply.insert("Roles".into(), json!({ "Role": shown }));
    Ok(reply)
}

/// Deleting a role ends its sessions: their tokens stop working at once (spec §5.2).
pub fn delete_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = role_name(ctx)?;
    ctx.app.store.write(|tx| {
        let role = existing_role(tx, ctx, &name)?;
        if !tx.attachments_of(PrincipalKind::Role, &role.id)?.is_empty() {
            return Err(ApiError::new(Code::DeleteConflictRolePolicy));
        }
        tx.delete_ram_role(&role.id)?;
        Ok(())
    })?;
    Ok(Reply::new())
}
