//! Policies: the system ones that ship with ecsim, custom ones with up to five versions, and
//! their attachments to users, groups and roles (spec ram-authorization §2, §5.4, §6).

use super::common::{
    Paging, RamCtx, check_group_name, check_policy_name, check_role_name, check_text,
    check_user_name, object, policy_error, policy_origin, time,
};
use super::groups::existing_group;
use super::roles::existing_role;
use super::users::existing_user;
use crate::handlers::Reply;
use ecsim_core::Millis;
use ecsim_ram::PolicyDocument;
use ecsim_ram::system_policies::{self, SystemPolicy};
use ecsim_store::{Attachment, CustomPolicy, PolicyOrigin, PolicyVersion, PrincipalKind, Tx};
use ecsim_wire::{ApiError, Code};
use serde_json::{Value, json};

/// Custom policies per account (spec §2).
pub const MAX_CUSTOM_POLICIES: u64 = 1500;
/// Versions per custom policy.
pub const MAX_VERSIONS: usize = 5;
/// System / custom policies attached to one user, group or role.
pub const MAX_SYSTEM_ATTACHED: usize = 20;
pub const MAX_CUSTOM_ATTACHED: usize = 10;

/// When the system policies "were created", as GetPolicy reports it.
const SYSTEM_POLICY_DATE: &str = "2015-04-28T16:12:28Z";

/// A policy of either origin, as the read operations show it.
enum Found {
    System(&'static SystemPolicy),
    Custom(CustomPolicy),
}

impl Found {
    fn origin(&self) -> PolicyOrigin {
        match self {
            Found::System(_) => PolicyOrigin::System,
            Found::Custom(_) => PolicyOrigin::Custom,
        }
    }

    fn name(&self) -> &str {
        match self {
            Found::System(p) => p.name(),
            Found::Custom(p) => &p.name,
        }
    }

    fn description(&self) -> &str {
        match self {
            Found::System(p) => p.description(),
            Found::Custom(p) => &p.description,
        }
    }

    fn default_version(&self) -> &str {
        match self {
            Found::System(p) => p.default_version(),
            Found::Custom(p) => &p.default_version,
        }
    }

    fn dates(&self) -> (String, String) {
        match self {
            Found::System(_) => (SYSTEM_POLICY_DATE.into(), SYSTEM_POLICY_DATE.into()),
            Found::Custom(p) => (time(p.created_at), time(p.updated_at)),
        }
    }

    fn summary(&self, attachments: usize) -> Value {
        let (created, updated) = self.dates();
        json!({
            "PolicyName": self.name(),
            "PolicyType": self.origin().as_str(),
            "Description": self.description(),
            "DefaultVersion": self.default_version(),
            "CreateDate": created,
            "UpdateDate": updated,
            "AttachmentCount": attachments,
        })
    }
}

fn not_found() -> ApiError {
    ApiError::new(Code::EntityNotExistPolicy)
}

fn find(
    tx: &mut dyn Tx,
    ctx: &RamCtx<'_>,
    origin: PolicyOrigin,
    name: &str,
) -> Result<Found, ApiError> {
    match origin {
        PolicyOrigin::System => system_policies::find(name)
            .map(Found::System)
            .ok_or_else(not_found),
        PolicyOrigin::Custom => tx
            .custom_policy(ctx.account(), name)?
            .map(Found::Custom)
            .ok_or_else(not_found),
    }
}

fn custom(tx: &mut dyn Tx, ctx: &RamCtx<'_>, name: &str) -> Result<CustomPolicy, ApiError> {
    tx.custom_policy(ctx.account(), name)?.ok_or_else(not_found)
}

fn policy_name(ctx: &RamCtx<'_>) -> Result<String, ApiError> {
    let name = ctx.required("PolicyName")?;
    check_policy_name("PolicyName", name)?;
    Ok(name.to_string())
}

fn parse_document(text: &str) -> Result<(), ApiError> {
    PolicyDocument::parse_identity(text)
        .map(|_| ())
        .map_err(|e| policy_error(&e))
}

fn version_id(ctx: &RamCtx<'_>) -> Result<String, ApiError> {
    let id = ctx.required("VersionId")?;
    let ok = id
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return Err(super::common::bad_format("VersionId"));
    }
    Ok(id.to_string())
}

fn present_version(version: &PolicyVersion, default: &str) -> Value {
    json!({
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == default,
        "PolicyDocument": version.document,
        "CreateDate": time(version.created_at),
    })
}

fn system_version(p: &SystemPolicy) -> Value {
    json!({
        "VersionId": p.default_version(),
        "IsDefaultVersion": true,
        "PolicyDocument": p.document(),
        "CreateDate": SYSTEM_POLICY_DATE,
    })
}

// ---- custom policy lifecycle -------------------------------------------------------------

pub fn create_policy(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = policy_name(ctx)?;
    let description = ctx.optional("Description").unwrap_or_default().to_string();
    check_text("Description", &description, 1024)?;
    let document = ctx.required("PolicyDocument")?.to_string();
    parse_document(&document)?;
    let policy = ctx.app.store.write(|tx| {
        if system_policies::find(&name).is_some()
            || tx.custom_policy(ctx.account(), &name)?.is_some()
        {
            return Err(ApiError::new(Code::EntityAlreadyExistsPolicy));
        }
        if tx.count_custom_policies(ctx.account())? >= MAX_CUSTOM_POLICIES {
            return Err(ApiError::new(Code::LimitExceededPolicy));
        }
        let policy = CustomPolicy {
            account_id: ctx.account(),
            name,
            description,
            default_version: "v1".into(),
            next_version: 2,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        let first = PolicyVersion {
            version_id: "v1".into(),
            document,
            created_at: ctx.now,
        };
        tx.insert_custom_policy(&policy, &first)?;
        Ok(policy)
    })?;
    Ok(object(json!({
        "Policy": {
            "PolicyName": policy.name,
            "PolicyType": "Custom",
            "Description": policy.description,
            "DefaultVersion": policy.default_version,
            "CreateDate": time(policy.created_at),
        }
    })))
}

pub fn get_policy(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let origin = policy_origin(ctx)?;
    let name = policy_name(ctx)?;
    let (found, attachments, version) = ctx.app.store.read(|tx| {
        let found = find(tx, ctx, origin, &name)?;
        let attachments = tx
            .attachments_of_policy(ctx.account(), origin, found.name())?
            .len();
        let version = match &found {
            Found::System(p) => system_version(p),
            Found::Custom(p) => {
                let v = tx
                    .policy_version(ctx.account(), &p.name, &p.default_version)?
                    .ok_or_else(|| ApiError::new(Code::InternalError))?;
                present_version(&v, &p.default_version)
            }
        };
        Ok((found, attachments, version))
    })?;
    let mut policy = found.summary(attachments);
    if let Some(map) = policy.as_object_mut() {
        map.insert("PolicyDocument".into(), version["PolicyDocument"].clone());
    }
    Ok(object(json!({
        "Policy": policy,
        "DefaultPolicyVersion": version,
    })))
}

pub fn list_policies(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let filter = match ctx.optional("PolicyType") {
        None => None,
        Some(_) => Some(policy_origin(ctx)?),
    };
    let paging = Paging::from_ctx(ctx)?;
    let shown = ctx.app.store.read(|tx| {
        let mut all: Vec<Found> = Vec::new();
        if filter != Some(PolicyOrigin::Custom) {
            all.extend(system_policies::ALL.iter().map(Found::System));
        }
        if filter != Some(PolicyOrigin::System) {
            all.extend(
                tx.custom_policies(ctx.account())?
                    .into_iter()
                    .map(Found::Custom),
            );
        }
        let page: Vec<Found> = all
            .into_iter()
            .skip(usize::try_from(paging.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(paging.fetch()).unwrap_or(usize::MAX))
            .collect();
        let mut shown = Vec::with_capacity(page.len());
        for p in page {
            let n = tx
                .attachments_of_policy(ctx.account(), p.origin(), p.name())?
                .len();
            shown.push(p.summary(n));
        }
        Ok(shown)
    })?;
    let mut reply = Reply::new();
    let shown = paging.finish(shown, &mut reply);
    reply.insert("Policies".into(), json!({ "Policy": shown }));
    Ok(reply)
}

pub fn update_policy_description(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = policy_name(ctx)?;
    let description = ctx
        .params
        .get("NewDescription")
        .unwrap_or_default()
        .to_string();
    check_text("NewDescription", &description, 1024)?;
    let policy = ctx.app.store.write(|tx| {
        let mut policy = custom(tx, ctx, &name)?;
        policy.description = description;
        policy.updated_at = ctx.now;
        tx.update_custom_policy(&policy)?;
        Ok(policy)
    })?;
    let mut shown = Found::Custom(policy).summary(0);
    if let Some(map) = shown.as_object_mut() {
        map.remove("AttachmentCount");
    }
    Ok(object(json!({ "Policy": shown })))
}

pub fn delete_policy(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = policy_name(ctx)?;
    let cascade = ctx.params.bool("CascadingDelete")?.unwrap_or(false);
    ctx.app.store.write(|tx| {
        let policy = custom(tx, ctx, &name)?;
        let attachments =
            tx.attachments_of_policy(ctx.account(), PolicyOrigin::Custom, &policy.name)?;
        if !cascade {
            for (kind, code) in [
                (PrincipalKind::User, Code::DeleteConflictPolicyUser),
                (PrincipalKind::Group, Code::DeleteConflictPolicyGroup),
                (PrincipalKind::Role, Code::DeleteConflictPolicyRole),
            ] {
                if attachments.iter().any(|a| a.principal_kind == kind) {
                    return Err(ApiError::new(code));
                }
            }
            if tx.policy_versions(ctx.account(), &policy.name)?.len() > 1 {
                return Err(ApiError::new(Code::DeleteConflictPolicyVersion));
            }
        }
        for a in &attachments {
            tx.detach_policy(a.principal_kind, &a.principal_id, a.origin, &a.policy_name)?;
        }
        tx.delete_custom_policy(ctx.account(), &policy.name)?;
        Ok(())
    })?;
    Ok(Reply::new())
}

// ---- versions ----------------------------------------------------------------------------

pub fn create_policy_version(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = policy_name(ctx)?;
    let document = ctx.required("PolicyDocument")?.to_string();
    let set_default = ctx.params.bool("SetAsDefault")?.unwrap_or(false);
    let rotate = match ctx.optional("RotateStrategy") {
        None | Some("None") => false,
        Some("DeleteOldestNonDefaultVersionWhenLimitExceeded") => true,
        Some(_) => {
            return Err(ApiError::invalid_parameter_dotted(
                "RotateStrategy",
                "The parameter - \"RotateStrategy\" is incorrect.",
            ));
        }
    };
    parse_document(&document)?;
    let (version, default) = ctx.app.store.write(|tx| {
        let mut policy = custom(tx, ctx, &name)?;
        let versions = tx.policy_versions(ctx.account(), &policy.name)?;
        if versions.len() >= MAX_VERSIONS {
            let oldest = versions
                .iter()
                .find(|v| v.version_id != policy.default_version);
            match (rotate, oldest) {
                (true, Some(old)) => {
                    tx.delete_policy_version(ctx.account(), &policy.name, &old.version_id)?
                }
                _ => return Err(ApiError::new(Code::LimitExceededPolicyVersion)),
            }
        }
        let version = PolicyVersion {
            version_id: format!("v{}", policy.next_version),
            document,
            created_at: ctx.now,
        };
        tx.insert_policy_version(ctx.account(), &policy.name, &version)?;
        policy.next_version += 1;
        if set_default {
            policy.default_version = version.version_id.clone();
        }
        policy.updated_at = ctx.now;
        tx.update_custom_policy(&policy)?;
        Ok((version, policy.default_version))
    })?;
    Ok(object(
        json!({ "PolicyVersion": present_version(&version, &default) }),
    ))
}

pub fn get_policy_version(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let origin = policy_origin(ctx)?;
    let name = policy_name(ctx)?;
    let id = version_id(ctx)?;
    let shown = ctx
        .app
        .store
        .read(|tx| match find(tx, ctx, origin, &name)? {
            Found::System(p) if id == p.default_version() => Ok(system_version(p)),
            Found::System(_) => Err(ApiError::new(Code::EntityNotExistPolicyVersion)),
            Found::Custom(p) => {
                let v = tx
                    .policy_version(ctx.account(), &p.name, &id)?
                    .ok_or_else(|| ApiError::new(Code::EntityNotExistPolicyVersion))?;
                Ok(present_version(&v, &p.default_version))
            }
        })?;
    Ok(object(json!({ "PolicyVersion": shown })))
}

pub fn list_policy_versions(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let origin = policy_origin(ctx)?;
    let name = policy_name(ctx)?;
    let shown = ctx
        .app
        .store
        .read(|tx| match find(tx, ctx, origin, &name)? {
            Found::System(p) => Ok(vec![system_version(p)]),
            Found::Custom(p) => Ok(tx
                .policy_versions(ctx.account(), &p.name)?
                .iter()
                .map(|v| present_version(v, &p.default_version))
                .collect()),
        })?;
    Ok(object(
        json!({ "PolicyVersions": { "PolicyVersion": shown } }),
    ))
}

pub fn set_default_policy_version(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = policy_name(ctx)?;
    let id = version_id(ctx)?;
    ctx.app.store.write(|tx| {
        let mut policy = custom(tx, ctx, &name)?;
        if tx
            .policy_version(ctx.account(), &policy.name, &id)?
            .is_none()
        {
            return Err(ApiError::new(Code::EntityNotExistPolicyVersion));
        }
        policy.default_version = id;
        policy.updated_at = ctx.now;
        tx.update_custom_policy(&policy)?;
        Ok(())
    })?;
    Ok(Reply::new())
}

pub fn delete_policy_version(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let name = policy_name(ctx)?;
    let id = version_id(ctx)?;
    ctx.app.store.write(|tx| {
        let policy = custom(tx, ctx, &name)?;
        if tx
            .policy_version(ctx.account(), &policy.name, &id)?
            .is_none()
        {
            return Err(ApiError::new(Code::EntityNotExistPolicyVersion));
        }
        if policy.default_version == id {
            return Err(ApiError::new(Code::DeleteConflictPolicyVersionDefault));
        }
        tx.delete_policy_version(ctx.account(), &policy.name, &id)?;
        Ok(())
    })?;
    Ok(Reply::new())
}

// ---- attachments -------------------------------------------------------------------------

/// What differs between users, groups and roles in the attachment operations.
struct Target {
    kind: PrincipalKind,
    param: &'static str,
    check: fn(&str, &str) -> Result<(), ApiError>,
    already: Code,
    not_attached: Code,
    limit: Code,
}

const USER: Target = Target {
    kind: PrincipalKind::User,
    param: "UserName",
    check: check_user_name,
    already: Code::EntityAlreadyExistsUserPolicy,
    not_attached: Code::EntityNotExistUserPolicy,
    limit: Code::LimitExceededUserPolicy,
};

const GROUP: Target = Target {
    kind: PrincipalKind::Group,
    param: "GroupName",
    check: check_group_name,
    already: Code::EntityAlreadyExistsGroupPolicy,
    not_attached: Code::EntityNotExistGroupPolicy,
    limit: Code::LimitExceededGroupPolicy,
};

const ROLE: Target = Target {
    kind: PrincipalKind::Role,
    param: "RoleName",
    check: check_role_name,
    already: Code::EntityAlreadyExistsRolePolicy,
    not_attached: Code::EntityNotExistRolePolicy,
    limit: Code::LimitExceededRolePolicy,
};

/// The id of the named user, group or role.
fn principal_id(
    tx: &mut dyn Tx,
    ctx: &RamCtx<'_>,
    target: &Target,
    name: &str,
) -> Result<String, ApiError> {
    Ok(match target.kind {
        PrincipalKind::User => existing_user(tx, ctx, name)?.id,
        PrincipalKind::Group => existing_group(tx, ctx, name)?.id,
        PrincipalKind::Role => existing_role(tx, ctx, name)?.id,
    })
}

fn principal_name(ctx: &RamCtx<'_>, target: &Target) -> Result<String, ApiError> {
    let name = ctx.required(target.param)?;
    (target.check)(target.param, name)?;
    Ok(name.to_string())
}

fn attach(ctx: &RamCtx<'_>, target: &Target) -> Result<Reply, ApiError> {
    let origin = policy_origin(ctx)?;
    let name = policy_name(ctx)?;
    let principal = principal_name(ctx, target)?;
    ctx.app.store.write(|tx| {
        let id = principal_id(tx, ctx, target, &principal)?;
        let policy = find(tx, ctx, origin, &name)?;
        let attached = tx.attachments_of(target.kind, &id)?;
        if attached
            .iter()
            .any(|a| a.origin == origin && a.policy_name.eq_ignore_ascii_case(policy.name()))
        {
            return Err(ApiError::new(target.already));
        }
        let limit = match origin {
            PolicyOrigin::System => MAX_SYSTEM_ATTACHED,
            PolicyOrigin::Custom => MAX_CUSTOM_ATTACHED,
        };
        if attached.iter().filter(|a| a.origin == origin).count() >= limit {
            return Err(ApiError::new(target.limit));
        }
        tx.attach_policy(
            ctx.account(),
            &Attachment {
                principal_kind: target.kind,
                principal_id: id,
                origin,
                policy_name: policy.name().to_string(),
                attached_at: ctx.now,
            },
        )?;
        Ok(())
    })?;
    Ok(Reply::new())
}

fn detach(ctx: &RamCtx<'_>, target: &Target) -> Result<Reply, ApiError> {
    let origin = policy_origin(ctx)?;
    let name = policy_name(ctx)?;
    let principal = principal_name(ctx, target)?;
    ctx.app.store.write(|tx| {
        let id = principal_id(tx, ctx, target, &principal)?;
        let policy = find(tx, ctx, origin, &name)?;
        if !tx.detach_policy(target.kind, &id, origin, policy.name())? {
            return Err(ApiError::new(target.not_attached));
        }
        Ok(())
    })?;
    Ok(Reply::new())
}

fn list_for(ctx: &RamCtx<'_>, target: &Target) -> Result<Reply, ApiError> {
    let principal = principal_name(ctx, target)?;
    let shown = ctx.app.store.read(|tx| {
        let id = principal_id(tx, ctx, target, &principal)?;
        let mut shown = Vec::new();
        for a in tx.attachments_of(target.kind, &id)? {
            let Ok(policy) = find(tx, ctx, a.origin, &a.policy_name) else {
                continue;
            };
            shown.push(json!({
                "PolicyName": policy.name(),
                "PolicyType": a.origin.as_str(),
                "Description": policy.description(),
                "DefaultVersion": policy.default_version(),
                "AttachDate": time(a.attached_at),
            }));
        }
        Ok(shown)
    })?;
    Ok(object(json!({ "Policies": { "Policy": shown } })))
}

pub fn attach_policy_to_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    attach(ctx, &USER)
}
pub fn attach_policy_to_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    attach(ctx, &GROUP)
}
pub fn attach_policy_to_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    attach(ctx, &ROLE)
}
pub fn detach_policy_from_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    detach(ctx, &USER)
}
pub fn detach_policy_from_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    detach(ctx, &GROUP)
}
pub fn detach_policy_from_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    detach(ctx, &ROLE)
}
pub fn list_policies_for_user(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    list_for(ctx, &USER)
}
pub fn list_policies_for_group(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    list_for(ctx, &GROUP)
}
pub fn list_policies_for_role(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    list_for(ctx, &ROLE)
}

pub fn list_entities_for_policy(ctx: &RamCtx<'_>) -> Result<Reply, ApiError> {
    let origin = policy_origin(ctx)?;
    let name = policy_name(ctx)?;
    let (users, groups, roles) = ctx.app.store.read(|tx| {
        let policy = find(tx, ctx, origin, &name)?;
        let (mut users, mut groups, mut roles) = (Vec::new(), Vec::new(), Vec::new());
        for a in tx.attachments_of_policy(ctx.account(), origin, policy.name())? {
            let at: Millis = a.attached_at;
            match a.principal_kind {
                PrincipalKind::User => {
                    if let Some(u) = tx.ram_user_by_id(&a.principal_id)? {
                        users.push(json!({
                            "UserId": u.id, "UserName": u.name,
                            "DisplayName": u.display_name, "AttachDate": time(at),
                        }));
                    }
                }
                PrincipalKind::Group => {
                    if let Some(g) = tx.ram_group_by_id(&a.principal_id)? {
                        groups.push(json!({
                            "GroupName": g.name, "Comments": g.comments, "AttachDate": time(at),
                        }));
                    }
                }
                PrincipalKind::Role => {
                    if let Some(r) = tx.ram_role_by_id(&a.principal_id)? {
                        roles.push(json!({
                            "RoleId": r.id, "RoleName": r.name,
                            "Arn": super::roles::role_arn(&r), "Description": r.description,
                            "AttachDate": time(at),
                        }));
                    }
                }
            }
        }
        Ok((users, groups, roles))
    })?;
    Ok(object(json!({
        "Users": { "User": users },
        "Groups": { "Group": groups },
        "Roles": { "Role": roles },
    })))
}
