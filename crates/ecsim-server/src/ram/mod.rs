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
use crate::operation_params::{self as params, Param};
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

    /// The API version that routes a request here (`x-acs-version` / `Version`).
    pub fn version(self) -> &'static str {
        match self {
            Service::Ram => RAM_VERSION,
            Service::Sts => STS_VERSION,
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
    /// The operation's own parameters (not the signature's common ones), in the spec's order.
    pub params: &'static [Param],
}

macro_rules! ram {
    ($name:literal, [$($res:literal),+], $handler:path, $params:path) => {
        Op {
            name: $name,
            service: Service::Ram,
            ram_action: concat!("ram:", $name),
            auth: Auth::Resources(&[$($res),+]),
            handler: $handler,
            params: $params,
        }
    };
}

pub const RAM_OPS: &[Op] = &[
    ram!(
        "CreateUser",
        ["user/*"],
        users::create_user,
        params::CREATE_USER
    ),
    ram!(
        "GetUser",
        ["user/{UserName}"],
        users::get_user,
        params::GET_USER
    ),
    ram!(
        "UpdateUser",
        ["user/{UserName}"],
        users::update_user,
        params::UPDATE_USER
    ),
    ram!(
        "ListUsers",
        ["user/*"],
        users::list_users,
        params::LIST_USERS
    ),
    ram!(
        "DeleteUser",
        ["user/{UserName}"],
        users::delete_user,
        params::DELETE_USER
    ),
    ram!(
        "CreateAccessKey",
        ["user/{UserName}"],
        users::create_access_key,
        params::CREATE_ACCESS_KEY
    ),
    ram!(
        "ListAccessKeys",
        ["user/{UserName}"],
        users::list_access_keys,
        params::LIST_ACCESS_KEYS
    ),
    ram!(
        "UpdateAccessKey",
        ["user/{UserName}"],
        users::update_access_key,
        params::UPDATE_ACCESS_KEY
    ),
    ram!(
        "DeleteAccessKey",
        ["user/{UserName}"],
        users::delete_access_key,
        params::DELETE_ACCESS_KEY
    ),
    ram!(
        "CreateGroup",
        ["group/*"],
        groups::create_group,
        params::CREATE_GROUP
    ),
    ram!(
        "GetGroup",
        ["group/{GroupName}"],
        groups::get_group,
        params::GET_GROUP
    ),
    ram!(
        "UpdateGroup",
        ["group/{GroupName}"],
        groups::update_group,
        params::UPDATE_GROUP
    ),
    ram!(
        "ListGroups",
        ["group/*"],
        groups::list_groups,
        params::LIST_GROUPS
    ),
    ram!(
        "DeleteGroup",
        ["group/{GroupName}"],
        groups::delete_group,
        params::DELETE_GROUP
    ),
    ram!(
        "AddUserToGroup",
        ["group/{GroupName}", "user/{UserName}"],
        groups::add_user_to_group,
        params::USER_AND_GROUP
    ),
    ram!(
        "RemoveUserFromGroup",
        ["group/{GroupName}", "user/{UserName}"],
        groups::remove_user_from_group,
        params::USER_AND_GROUP
    ),
    ram!(
        "ListGroupsForUser",
        ["user/{UserName}"],
        groups::list_groups_for_user,
        params::LIST_GROUPS_FOR_USER
    ),
    ram!(
        "ListUsersForGroup",
        ["group/{GroupName}"],
        groups::list_users_for_group,
        params::LIST_USERS_FOR_GROUP
    ),
    ram!(
        "CreatePolicy",
        ["policy/*"],
        policies::create_policy,
        params::CREATE_POLICY
    ),
    ram!(
        "GetPolicy",
        ["policy/{PolicyName}"],
        policies::get_policy,
        params::GET_POLICY
    ),
    ram!(
        "ListPolicies",
        ["policy/*"],
        policies::list_policies,
        params::LIST_POLICIES
    ),
    ram!(
        "UpdatePolicyDescription",
        ["policy/{PolicyName}"],
        policies::update_policy_description,
        params::UPDATE_POLICY_DESCRIPTION
    ),
    ram!(
        "DeletePolicy",
        ["policy/{PolicyName}"],
        policies::delete_policy,
        params::DELETE_POLICY
    ),
    ram!(
        "CreatePolicyVersion",
        ["policy/{PolicyName}"],
        policies::create_policy_version,
        params::CREATE_POLICY_VERSION
    ),
    ram!(
        "GetPolicyVersion",
        ["policy/{PolicyName}"],
        policies::get_policy_version,
        params::GET_POLICY_VERSION
    ),
    ram!(
        "ListPolicyVersions",
        ["policy/{PolicyName}"],
        policies::list_policy_versions,
        params::LIST_POLICY_VERSIONS
    ),
    ram!(
        "SetDefaultPolicyVersion",
        ["policy/{PolicyName}"],
        policies::set_default_policy_version,
        params::POLICY_VERSION
    ),
    ram!(
        "DeletePolicyVersion",
        ["policy/{PolicyName}"],
        policies::delete_policy_version,
        params::POLICY_VERSION
    ),
    ram!(
        "AttachPolicyToUser",
        ["user/{UserName}", "policy/{PolicyName}"],
        policies::attach_policy_to_user,
        params::POLICY_AND_USER
    ),
    ram!(
        "AttachPolicyToGroup",
        ["group/{GroupName}", "policy/{PolicyName}"],
        policies::attach_policy_to_group,
        params::POLICY_AND_GROUP
    ),
    ram!(
        "AttachPolicyToRole",
        ["role/{RoleName}", "policy/{PolicyName}"],
        policies::attach_policy_to_role,
        params::POLICY_AND_ROLE
    ),
    ram!(
        "DetachPolicyFromUser",
        ["user/{UserName}", "policy/{PolicyName}"],
        policies::detach_policy_from_user,
        params::POLICY_AND_USER
    ),
    ram!(
        "DetachPolicyFromGroup",
        ["group/{GroupName}", "policy/{PolicyName}"],
        policies::detach_policy_from_group,
        params::POLICY_AND_GROUP
    ),
    ram!(
        "DetachPolicyFromRole",
        ["role/{RoleName}", "policy/{PolicyName}"],
        policies::detach_policy_from_role,
        params::POLICY_AND_ROLE
    ),
    ram!(
        "ListPoliciesForUser",
        ["user/{UserName}"],
        policies::list_policies_for_user,
        params::LIST_POLICIES_FOR_USER
    ),
    ram!(
        "ListPoliciesForGroup",
        ["group/{GroupName}"],
        policies::list_policies_for_group,
        params::LIST_POLICIES_FOR_GROUP
    ),
    ram!(
        "ListPoliciesForRole",
        ["role/{RoleName}"],
        policies::list_policies_for_role,
        params::LIST_POLICIES_FOR_ROLE
    ),
    ram!(
        "ListEntitiesForPolicy",
        ["policy/{PolicyName}"],
        policies::list_entities_for_policy,
        params::LIST_ENTITIES_FOR_POLICY
    ),
    ram!(
        "CreateRole",
        ["role/*"],
        roles::create_role,
        params::CREATE_ROLE
    ),
    ram!(
        "GetRole",
        ["role/{RoleName}"],
        roles::get_role,
        params::GET_ROLE
    ),
    ram!(
        "UpdateRole",
        ["role/{RoleName}"],
        roles::update_role,
        params::UPDATE_ROLE
    ),
    ram!(
        "ListRoles",
        ["role/*"],
        roles::list_roles,
        params::LIST_ROLES
    ),
    ram!(
        "DeleteRole",
        ["role/{RoleName}"],
        roles::delete_role,
        params::DELETE_ROLE
    ),
    ram!(
        "DecodeDiagnosticMessage",
        ["*"],
        sts::decode_diagnostic_message,
        params::DECODE_DIAGNOSTIC_MESSAGE
    ),
];

pub const STS_OPS: &[Op] = &[
    Op {
        name: "AssumeRole",
        service: Service::Sts,
        ram_action: "sts:AssumeRole",
        auth: Auth::InHandler,
        handler: sts::assume_role,
        params: params::ASSUME_ROLE,
    },
    Op {
        name: "GetCallerIdentity",
        service: Service::Sts,
        ram_action: "sts:GetCallerIdentity",
        auth: Auth::Anyone,
        handler: sts::get_caller_identity,
        params: params::GET_CALLER_IDENTITY,
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
