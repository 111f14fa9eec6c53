//! RAM users and their AccessKeys (spec ram-authorization §5, §6).

use super::common::{
    Paging, RamCtx, check_email, check_mobile_phone, check_text, check_user_name, numeric_id,
    object, time,
};
use crate::handlers::Reply;
use ecsim_core::ids::new_access_key;
use ecsim_core::model::{KeyStatus, Secret};
use ecsim_store::{PrincipalKind, RamUser, Tx, UserAccessKey};
use ecsim_wire::{ApiError, Code};
use serde_json::{Value, json};

/// RAM users per account (spec §2).
pub const MAX_USERS: u64 = 5000;
/// AccessKey pairs per user.
pub const MAX_KEYS_PER_USER: usize = 2;

pub fn present(user: &RamUser) -> Value {
    json!({
        "UserId": user.id,
        "UserName": user.name,
        "DisplayName": user.display_name,
        "MobilePhone": user.mobile_phone,
        "Email": user.email,
        "Comments": user.comments,
        "CreateDate": time(user.created_at),
        "UpdateDate": time(user.updated_at),
    })
}

pub fn existing_user(tx: &mut dyn Tx, ctx: &RamCtx<'_>, name: &str) -> Result<RamUser, ApiError> {
    tx.ram_user(ctx.account(), name)?
        .ok_or_else(|| ApiError::new(Code::EntityNotExistUser))
}

fn user_name(ctx: &RamCtx<'_>) -> Result<String, ApiError> {
    let name = ctx.required("UserName")?;
    check_user_name("UserName", name)?;
    Ok(name.to_string())
}

/// Validates the optional profile fields under their (possibly `New`-prefixed) names.
fn profile_field(
    ctx: &RamCtx<'_>,
    param: &str,
    check: fn(&str, &str) -> Result<(), ApiError>,
) -> Result<Option<String>, ApiError> {
    match ctx.params.get(param) {
        None => Ok(None),
        Some("") => Ok(Some(String::new())),
        Some(v) => {
            check(param, v)?;
            Ok(Some(v.to_string()))
        }
    }
}

fn display_name(param: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().count() > 128 || value.chars().any(char::is_control) {
        return Err(super::common::too_long(param));
    }
    Ok(())
}

fn comments(param: &str, value: &str) -> Result<(), ApiError> {
    check_text(param, value, 128)
}

pub fn create_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = user_name(ctx)?;
    let display = profile_field(ctx, "DisplayName", display_name)?.unwrap_or_default();
    let phone = profile_field(ctx, "MobilePhone", check_mobile_phone)?.unwrap_or_default();
    let email = profile_field(ctx, "Email", check_email)?.unwrap_or_default();
    let note = profile_field(ctx, "Comments", comments)?.unwrap_or_default();
    let user = ctx.app.store.write(|tx| {
        if tx.ram_user(ctx.account(), &name)?.is_some() {
            return Err(ApiError::new(Code::EntityAlreadyExistsUser));
        }
        if tx.count_ram_users(ctx.account())? >= MAX_USERS {
            return Err(ApiError::new(Code::LimitExceededUser));
        }
        let user = RamUser {
            id: numeric_id(16),
            account_id: ctx.account(),
            name: name.clone(),
            display_name: display,
            mobile_phone: phone,
            email,
            comments: note,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        tx.insert_ram_user(&user)?;
        Ok(user)
    })?;
    let mut shown = present(&user);
    if let Some(map) = shown.as_object_mut() {
        map.remove("UpdateDate");
    }
    Ok(object(json!({ "User": shown })))
}

pub fn get_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = user_name(ctx)?;
    let user = ctx.app.store.read(|tx| existing_user(tx, ctx, &name))?;
    Ok(object(json!({ "User": present(&user) })))
}

pub fn update_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = user_name(ctx)?;
    let new_name = match ctx.optional("NewUserName") {
        Some(n) => {
            check_user_name("NewUserName", n)?;
            Some(n.to_string())
        }
        None => None,
    };
    let display = profile_field(ctx, "NewDisplayName", display_name)?;
    let phone = profile_field(ctx, "NewMobilePhone", check_mobile_phone)?;
    let email = profile_field(ctx, "NewEmail", check_email)?;
    let note = profile_field(ctx, "NewComments", comments)?;
    let user = ctx.app.store.write(|tx| {
        let mut user = existing_user(tx, ctx, &name)?;
        if let Some(new) = new_name {
            if !new.eq_ignore_ascii_case(&user.name) && tx.ram_user(ctx.account(), &new)?.is_some()
            {
                return Err(ApiError::new(Code::EntityAlreadyExistsUser));
            }
            user.name = new;
        }
        if let Some(v) = display {
            user.display_name = v;
        }
        if let Some(v) = phone {
            user.mobile_phone = v;
        }
        if let Some(v) = email {
            user.email = v;
        }
        if let Some(v) = note {
            user.comments = v;
        }
        user.updated_at = ctx.now;
        tx.update_ram_user(&user)?;
        Ok(user)
    })?;
    Ok(object(json!({ "User": present(&user) })))
}

pub fn list_users(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let paging = Paging::from_ctx(ctx)?;
    let users = ctx
        .app
        .store
        .read(|tx| Ok(tx.ram_users(ctx.account(), paging.offset, paging.fetch())?))?;
    let mut reply = Reply::new();
    let users = paging.finish(users, &mut reply);
    let shown: Vec<Value> = users.iter().map(present).collect();
    reply.insert("Users".into(), json!({ "User": shown }));
    Ok(reply)
}

pub fn delete_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = user_name(ctx)?;
    ctx.app.store.write(|tx| {
        let user = existing_user(tx, ctx, &name)?;
        if !tx.user_access_keys(&user.id)?.is_empty() {
            return Err(ApiError::new(Code::DeleteConflictUserAccessKey));
        }
        if !tx.groups_of_user(&user.id)?.is_empty() {
            return Err(ApiError::new(Code::DeleteConflictUserGroup));
        }
        if !tx.attachments_of(PrincipalKind::User, &user.id)?.is_empty() {
            return Err(ApiError::new(Code::DeleteConflictUserPolicy));
        }
        tx.delete_ram_user(&user.id)?;
        Ok(())
    })?;
    Ok(Reply::new())
}

// ---- AccessKeys ------------------------------------------------------------------------

fn present_key(key: &UserAccessKey) -> Value {
    json!({
        "AccessKeyId": key.id,
        "Status": key.status.as_str(),
        "CreateDate": time(key.created_at),
    })
}

/// The named user (or the caller itself) and that user's key `UserAccessKeyId`.
fn user_and_key(
    tx: &mut dyn Tx,
    ctx: &RamCtx<'_>,
    user_name: &str,
    key_id: &str,
) -> Result<UserAccessKey, ApiError> {
    let user = existing_user(tx, ctx, user_name)?;
    tx.user_access_key(key_id)?
        .filter(|k| k.user_id == user.id)
        .ok_or_else(|| ApiError::new(Code::EntityNotExistUserAccessKey))
}

pub fn create_access_key(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = ctx.user_name_or_self()?;
    check_user_name("UserName", &name)?;
    let key = ctx.app.store.write(|tx| {
        let user = existing_user(tx, ctx, &name)?;
        if tx.user_access_keys(&user.id)?.len() >= MAX_KEYS_PER_USER {
            return Err(ApiError::new(Code::LimitExceededUserAccessKey));
        }
        let (id, secret) = new_access_key();
        let key = UserAccessKey {
            id,
            secret: Secret::new(secret),
            account_id: ctx.account(),
            user_id: user.id,
            status: KeyStatus::Active,
            created_at: ctx.now,
        };
        tx.insert_user_access_key(&key)?;
        Ok(key)
    })?;
    Ok(object(json!({
        "AccessKey": {
            "AccessKeyId": key.id,
            "AccessKeySecret": key.secret.expose(),
            "Status": key.status.as_str(),
            "CreateDate": time(key.created_at),
        }
    })))
}

pub fn list_access_keys(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = ctx.user_name_or_self()?;
    let keys = ctx.app.store.read(|tx| {
        let user = existing_user(tx, ctx, &name)?;
        Ok(tx.user_access_keys(&user.id)?)
    })?;
    let shown: Vec<Value> = keys.iter().map(present_key).collect();
    Ok(object(json!({ "AccessKeys": { "AccessKey": shown } })))
}

pub fn update_access_key(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = ctx.user_name_or_self()?;
    let key_id = ctx.required("UserAccessKeyId")?;
    let status = ctx.required("Status")?;
    let status = KeyStatus::parse(status).ok_or_else(|| {
        ApiError::invalid_parameter_dotted(
            "Status",
            "The parameter - \"Status\" must be Active or Inactive.",
        )
    })?;
    ctx.app.store.write(|tx| {
        let key = user_and_key(tx, ctx, &name, key_id)?;
        tx.set_user_access_key_status(&key.id, status)?;
        Ok(())
    })?;
    Ok(Reply::new())
}

pub fn delete_access_key(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = ctx.user_name_or_self()?;
    let key_id = ctx.required("UserAccessKeyId")?;
    ctx.app.store.write(|tx| {
        let key = user_and_key(tx, ctx, &name, key_id)?;
        tx.delete_user_access_key(&key.id)?;
        Ok(())
    })?;
    Ok(Reply::new())
}
