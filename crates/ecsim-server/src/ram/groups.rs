//! RAM user groups and their members (spec ram-authorization §5.1, §6).

use super::common::{Paging, RamCtx, check_group_name, check_text, object, random_alnum, time};
use super::users::{existing_user, present as present_user};
use crate::handlers::Reply;
use ecsim_store::{PrincipalKind, RamGroup, Tx};
use ecsim_wire::{ApiError, Code};
use serde_json::{Value, json};

/// Groups per account (spec §2).
pub const MAX_GROUPS: u64 = 300;
/// Groups one user may join.
pub const MAX_GROUPS_PER_USER: usize = 10;

fn present(group: &RamGroup) -> Value {
    json!({
        "GroupId": group.id,
        "GroupName": group.name,
        "Comments": group.comments,
        "CreateDate": time(group.created_at),
        "UpdateDate": time(group.updated_at),
    })
}

pub fn existing_group(tx: &mut dyn Tx, ctx: &RamCtx<'_>, name: &str) -> Result<RamGroup, ApiError> {
    tx.ram_group(ctx.account(), name)?
        .ok_or_else(|| ApiError::new(Code::EntityNotExistGroup))
}

fn group_name(ctx: &RamCtx<'_>) -> Result<String, ApiError> {
    let name = ctx.required("GroupName")?;
    check_group_name("GroupName", name)?;
    Ok(name.to_string())
}

pub fn create_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = group_name(ctx)?;
    let comments = ctx.optional("Comments").unwrap_or_default().to_string();
    check_text("Comments", &comments, 128)?;
    let group = ctx.app.store.write(|tx| {
        if tx.ram_group(ctx.account(), &name)?.is_some() {
            return Err(ApiError::new(Code::EntityAlreadyExistsGroup));
        }
        if tx.count_ram_groups(ctx.account())? >= MAX_GROUPS {
            return Err(ApiError::new(Code::LimitExceededGroup));
        }
        let group = RamGroup {
            id: format!("g-{}", random_alnum(16).to_ascii_lowercase()),
            account_id: ctx.account(),
            name,
            comments,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        tx.insert_ram_group(&group)?;
        Ok(group)
    })?;
    let mut shown = present(&group);
    if let Some(map) = shown.as_object_mut() {
        map.remove("UpdateDate");
    }
    Ok(object(json!({ "Group": shown })))
}

pub fn get_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = group_name(ctx)?;
    let group = ctx.app.store.read(|tx| existing_group(tx, ctx, &name))?;
    Ok(object(json!({ "Group": present(&group) })))
}

pub fn update_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = group_name(ctx)?;
    let new_name = ctx.optional("NewGroupName").map(str::to_string);
    if let Some(n) = &new_name {
        check_group_name("NewGroupName", n)?;
    }
    let new_comments = ctx.params.get("NewComments").map(str::to_string);
    if let Some(c) = &new_comments {
        check_text("NewComments", c, 128)?;
    }
    let group = ctx.app.store.write(|tx| {
        let mut group = existing_group(tx, ctx, &name)?;
        if let Some(new) = new_name {
            if !new.eq_ignore_ascii_case(&group.name)
                && tx.ram_group(ctx.account(), &new)?.is_some()
            {
                return Err(ApiError::new(Code::EntityAlreadyExistsGroup));
            }
            group.name = new;
        }
        if let Some(c) = new_comments {
            group.comments = c;
        }
        group.updated_at = ctx.now;
        tx.update_ram_group(&group)?;
        Ok(group)
    })?;
    Ok(object(json!({ "Group": present(&group) })))
}

pub fn list_groups(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let paging = Paging::from_ctx(ctx)?;
    let groups = ctx
        .app
        .store
        .read(|tx| Ok(tx.ram_groups(ctx.account(), paging.offset, paging.fetch())?))?;
    let mut reply = Reply::new();
    let groups = paging.finish(groups, &mut reply);
    let shown: Vec<Value> = groups.iter().map(present).collect();
    reply.insert("Groups".into(), json!({ "Group": shown }));
    Ok(reply)
}

pub fn delete_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = group_name(ctx)?;
    ctx.app.store.write(|tx| {
        let group = existing_group(tx, ctx, &name)?;
        if tx.count_group_members(&group.id)? > 0 {
            return Err(ApiError::new(Code::DeleteConflictGroupUser));
        }
        if !tx
            .attachments_of(PrincipalKind::Group, &group.id)?
            .is_empty()
        {
            return Err(ApiError::new(Code::DeleteConflictGroupPolicy));
        }
        tx.delete_ram_group(&group.id)?;
        Ok(())
    })?;
    Ok(Reply::new())
}

fn user_name(ctx: &RamCtx<'_>) -> Result<String, ApiError> {
    let name = ctx.required("UserName")?;
    super::common::check_user_name("UserName", name)?;
    Ok(name.to_string())
}

pub fn add_user_to_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let group_name = group_name(ctx)?;
    let user_name = user_name(ctx)?;
    ctx.app.store.write(|tx| {
        let user = existing_user(tx, ctx, &user_name)?;
        let group = existing_group(tx, ctx, &group_name)?;
        if tx.is_group_member(&group.id, &user.id)? {
            return Err(ApiError::new(Code::EntityAlreadyExistsUserGroup));
        }
        if tx.groups_of_user(&user.id)?.len() >= MAX_GROUPS_PER_USER {
            return Err(ApiError::new(Code::LimitExceededUserGroup));
        }
        tx.add_group_member(&group.id, &user.id, ctx.now)?;
        Ok(())
    })?;
    Ok(Reply::new())
}

pub fn remove_user_from_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let group_name = group_name(ctx)?;
    let user_name = user_name(ctx)?;
    ctx.app.store.write(|tx| {
        let user = existing_user(tx, ctx, &user_name)?;
        let group = existing_group(tx, ctx, &group_name)?;
        if !tx.remove_group_member(&group.id, &user.id)? {
            return Err(ApiError::new(Code::EntityNotExistUserGroup));
        }
        Ok(())
    })?;
    Ok(Reply::new())
}

pub fn list_groups_for_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let user_name = user_name(ctx)?;
    let groups = ctx.app.store.read(|tx| {
        let user = existing_user(tx, ctx, &user_name)?;
        Ok(tx.groups_of_user(&user.id)?)
    })?;
    let shown: Vec<Value> = groups
        .iter()
        .map(|(g, joined)| {
            json!({
                "GroupId": g.id,
                "GroupName": g.name,
                "Comments": g.comments,
                "JoinDate": time(*joined),
            })
        })
        .collect();
    Ok(object(json!({ "Groups": { "Group": shown } })))
}

pub fn list_users_for_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let group_name = group_name(ctx)?;
    let paging = Paging::from_ctx(ctx)?;
    let members = ctx.app.store.read(|tx| {
        let group = existing_group(tx, ctx, &group_name)?;
        Ok(tx.members_of_group(&group.id, paging.offset, paging.fetch())?)
    })?;
    let mut reply = Reply::new();
    let members = paging.finish(members, &mut reply);
    let shown: Vec<Value> = members
        .iter()
        .map(|(u, joined)| {
            let full = present_user(u);
            json!({
                "UserName": full["UserName"],
                "DisplayName": full["DisplayName"],
                "JoinDate": time(*joined),
            })
        })
        .collect();
    reply.insert("Users".into(), json!({ "User": shown }));
    Ok(reply)
}
