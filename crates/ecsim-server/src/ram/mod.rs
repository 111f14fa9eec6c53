//! RAM (2015-05-01) and STS (2015-04-01) on the ECS listener, routed by `Version`, and the
//! authorization every call goes through (spec ram-authorization.md).
//!
//! One table per service names each operation, the RAM action it is authorized as
//! (`ram:CreateUser`, `sts:AssumeRole`) and the resources it is authorized against; the ECS
//! operations' counterparts are in [`crate::actions`] and are authorized by
//! [`authz::authorize_ecs`].

pub mod authz;
mod common;
pub mod explain;
mod groups;
mod policies;
mod roles;
mod sts;
mod users;

use crate::auth::Caller;
use crate::handlers::Reply;
use crate::state::AppState;
use common::RamCtx;
use ecsim_wire::{ApiError, Code, Params};

pub const RAM_VERSION: &str = "2015-05-01";
pub const STS_VERSION: &str = "2015-04-01";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ram,
    Sts,
}

impl Service {
    pub fn of_version(version: &str) -> Option<Self> {
        match version {
            RAM_VERSION => Some(Service::Ram),
            STS_VERSION => Some(Service::Sts),
            _ => None,
        }
    }

    /// The endpoint host a client would have called (`HostId` of errors).
    pub fn host(self) -> &'static str {
        match self {
            Service::Ram => "ram.aliyuncs.com",
            Service::Sts => "sts.aliyuncs.com",
        }
    }

    /// `product=` of the `Recommend` URL.
    pub fn product(self) -> &'static str {
        match self {
            Service::Ram => "Ram",
            Service::Sts => "Sts",
        }
    }

    fn deny_code(self) -> Code {
        match self {
            Service::Ram => Code::NoPermission,
            Service::Sts => Code::NoPermissionSts,
        }
    }
}

/// How an operation is authorized.
pub enum Auth {
    /// Its RAM action on these resource templates (`user/{UserName}`, `policy/*`, `*`); the ARN
    /// is `acs:ram::{account}:{relative}`.
    Resources(&'static [&'static str]),
    /// The handler authorizes (AssumeRole: the caller's policies and the role's trust policy).
    InHandler,
    /// Any authenticated caller (GetCallerIdentity needs no permission).
    Anyone,
}

pub struct Op {
    pub name: &'static str,
    pub service: Service,
    /// `ram:{name}` or `sts:{name}`.
    pub ram_action: &'static str,
    pub auth: Auth,
    pub handler: fn(&RamCtx<'_>) -> Result<Reply, ApiError>,
}

macro_rules! ram {
    ($name:literal, [$($res:literal),+], $handler:path) => {
        Op {
            name: $name,
            service: Service::Ram,
            ram_action: concat!("ram:", $name),
            auth: Auth::Resources(&[$($res),+]),
            handler: $handler,
        }
    };
}

pub const RAM_OPS: &[Op] = &[
    ram!("CreateUser", ["user/*"], users::create_user),
    ram!("GetUser", ["user/{UserName}"], users::get_user),
    ram!("UpdateUser", ["user/{UserName}"], users::update_user),
    ram!("ListUsers", ["user/*"], users::list_users),
    ram!("DeleteUser", ["user/{UserName}"], users::delete_user),
    ram!(
        "CreateAccessKey",
        ["user/{UserName}"],
        users::create_access_key
    ),
    ram!(
        "ListAccessKeys",
        ["user/{UserName}"],
        users::list_access_keys
    ),
    ram!(
        "UpdateAccessKey",
        ["user/{UserName}"],
        users::update_access_key
    ),
    ram!(
        "DeleteAccessKey",
        ["user/{UserName}"],
        users::delete_access_key
    ),
    ram!("CreateGroup", ["group/*"], groups::create_group),
    ram!("GetGroup", ["group/{GroupName}"], groups::get_group),
    ram!("UpdateGroup", ["group/{GroupName}"], groups::update_group),
    ram!("ListGroups", ["group/*"], groups::list_groups),
    ram!("DeleteGroup", ["group/{GroupName}"], groups::delete_group),
    ram!(
        "AddUserToGroup",
        ["group/{GroupName}", "user/{UserName}"],
        groups::add_user_to_group
    ),
    ram!(
        "RemoveUserFromGroup",
        ["group/{GroupName}", "user/{UserName}"],
        groups::remove_user_from_group
    ),
    ram!(
        "ListGroupsForUser",
        ["user/{UserName}"],
        groups::list_groups_for_user
    ),
    ram!(
        "ListUsersForGroup",
        ["group/{GroupName}"],
        groups::list_users_for_group
    ),
    ram!("CreatePolicy", ["policy/*"], policies::create_policy),
    ram!("GetPolicy", ["policy/{PolicyName}"], policies::get_policy),
    ram!("ListPolicies", ["policy/*"], policies::list_policies),
    ram!(
        "UpdatePolicyDescription",
        ["policy/{PolicyName}"],
        policies::update_policy_description
    ),
    ram!(
        "DeletePolicy",
        ["policy/{PolicyName}"],
        policies::delete_policy
    ),
    ram!(
        "CreatePolicyVersion",
        ["policy/{PolicyName}"],
        policies::create_policy_version
    ),
    ram!(
        "GetPolicyVersion",
        ["policy/{PolicyName}"],
        policies::get_policy_version
    ),
    ram!(
        "ListPolicyVersions",
        ["policy/{PolicyName}"],
        policies::list_policy_versions
    ),
    ram!(
        "SetDefaultPolicyVersion",
        ["policy/{PolicyName}"],
        policies::set_default_policy_version
    ),
    ram!(
        "DeletePolicyVersion",
        ["policy/{PolicyName}"],
        policies::delete_policy_version
    ),
    ram!(
        "AttachPolicyToUser",
        ["user/{UserName}", "policy/{PolicyName}"],
        policies::attach_policy_to_user
    ),
    ram!(
        "AttachPolicyToGroup",
        ["group/{GroupName}", "policy/{PolicyName}"],
        policies::attach_policy_to_group
    ),
    ram!(
        "AttachPolicyToRole",
        ["role/{RoleName}", "policy/{PolicyName}"],
        policies::attach_policy_to_role
    ),
    ram!(
        "DetachPolicyFromUser",
        ["user/{UserName}", "policy/{PolicyName}"],
        policies::detach_policy_from_user
    ),
    ram!(
        "DetachPolicyFromGroup",
        ["group/{GroupName}", "policy/{PolicyName}"],
        policies::detach_policy_from_group
    ),
    ram!(
        "DetachPolicyFromRole",
        ["role/{RoleName}", "policy/{PolicyName}"],
        policies::detach_policy_from_role
    ),
    ram!(
        "ListPoliciesForUser",
        ["user/{UserName}"],
        policies::list_policies_for_user
    ),
    ram!(
        "ListPoliciesForGroup",
        ["group/{GroupName}"],
        policies::list_policies_for_group
    ),
    ram!(
        "ListPoliciesForRole",
        ["role/{RoleName}"],
        policies::list_policies_for_role
    ),
    ram!(
        "ListEntitiesForPolicy",
        ["policy/{PolicyName}"],
        policies::list_entities_for_policy
    ),
    ram!("CreateRole", ["role/*"], roles::create_role),
    ram!("GetRole", ["role/{RoleName}"], roles::get_role),
    ram!("UpdateRole", ["role/{RoleName}"], roles::update_role),
    ram!("ListRoles", ["role/*"], roles::list_roles),
    ram!("DeleteRole", ["role/{RoleName}"], roles::delete_role),
    ram!(
        "DecodeDiagnosticMessage",
        ["*"],
        sts::decode_diagnostic_message
    ),
];

pub const STS_OPS: &[Op] = &[
    Op {
        name: "AssumeRole",
        service: Service::Sts,
        ram_action: "sts:AssumeRole",
        auth: Auth::InHandler,
        handler: sts::assume_role,
    },
    Op {
        name: "GetCallerIdentity",
        service: Service::Sts,
        ram_action: "sts:GetCallerIdentity",
        auth: Auth::Anyone,
        handler: sts::get_caller_identity,
    },
];

/// Looks an operation up by its exact name.
pub fn find(service: Service, name: &str) -> Option<&'static Op> {
    let table = match service {
        Service::Ram => RAM_OPS,
        Service::Sts => STS_OPS,
    };
    table.iter().find(|op| op.name == name)
}

/// Authorizes and runs a RAM or STS operation for an authenticated caller.
pub fn run(app: &AppState, caller: &Caller, op: &Op, params: &Params) -> Result<Reply, ApiError> {
    if let Auth::Resources(templates) = op.auth {
        authz::authorize_ram(
            app,
            caller,
            op.ram_action,
            templates,
            params,
            op.service.deny_code(),
        )?;
    }
    let ctx = RamCtx {
        app,
        caller,
        params,
        now: app.clock.now(),
    };
    (op.handler)(&ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_actions_follow_them() {
        for table in [RAM_OPS, STS_OPS] {
            for (i, op) in table.iter().enumerate() {
                assert!(
                    table[i + 1..].iter().all(|b| b.name != op.name),
                    "{} twice",
                    op.name
                );
                let prefix = match op.service {
                    Service::Ram => "ram:",
                    Service::Sts => "sts:",
                };
                assert_eq!(op.ram_action, format!("{prefix}{}", op.name));
            }
        }
        assert!(find(Service::Ram, "CreateUser").is_some());
        assert!(find(Service::Ram, "AssumeRole").is_none());
        assert!(find(Service::Sts, "AssumeRole").is_some());
    }
}
