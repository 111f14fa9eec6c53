//! RAM and STS state: users, groups, roles, policies and their versions, attachments, user
//! AccessKeys and STS sessions. A separate trait so identity storage grows without touching the
//! resource repository; every [`crate::Tx`] is also an [`IdentityTx`].
//!
//! Names (users, groups, roles, custom policies) are unique per account case-insensitively and
//! stored as given (spec ram-authorization, open question 11). Memberships and attachments refer
//! to users, groups and roles by id, so renames keep them.

use crate::StoreResult;
use ecsim_core::Millis;
use ecsim_core::model::{AccountId, KeyStatus, Secret};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RamUser {
    /// Numeric, 16 digits.
    pub id: String,
    pub account_id: AccountId,
    pub name: String,
    pub display_name: String,
    pub mobile_phone: String,
    pub email: String,
    pub comments: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RamGroup {
    pub id: String,
    pub account_id: AccountId,
    pub name: String,
    pub comments: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RamRole {
    pub id: String,
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    /// The `AssumeRolePolicyDocument` as given (validated when it was set).
    pub trust_policy: String,
    /// Seconds, 3,600–43,200.
    pub max_session_duration: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A custom policy; its documents are its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomPolicy {
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    /// `vN` of the version that is evaluated.
    pub default_version: String,
    /// N of the next version created (versions are never renumbered).
    pub next_version: u32,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// `v1`, `v2`, …
    pub version_id: String,
    pub document: String,
    pub created_at: Millis,
}

/// Where a policy comes from: `PolicyType` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyOrigin {
    System,
    Custom,
}

impl PolicyOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOrigin::System => "System",
            PolicyOrigin::Custom => "Custom",
        }
    }

    /// Exact spelling, as RAM compares it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "System" => Some(PolicyOrigin::System),
            "Custom" => Some(PolicyOrigin::Custom),
            _ => None,
        }
    }
}

/// Who a policy is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    User,
    Group,
    Role,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "User",
            PrincipalKind::Group => "Group",
            PrincipalKind::Role => "Role",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "User" => Some(PrincipalKind::User),
            "Group" => Some(PrincipalKind::Group),
            "Role" => Some(PrincipalKind::Role),
            _ => None,
        }
    }
}

/// One policy attached to one user, group or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub principal_kind: PrincipalKind,
    /// The user, group or role id.
    pub principal_id: String,
    pub origin: PolicyOrigin,
    pub policy_name: String,
    pub attached_at: Millis,
}

/// A policy that applies to a principal, with the text of its default version for custom
/// policies (`None` for system policies, whose texts ship with the binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedPolicy {
    /// How it reaches the principal: attached to the user itself, to one of its groups, or to
    /// the role.
    pub attached_to: PrincipalKind,
    pub origin: PolicyOrigin,
    pub name: String,
    pub document: Option<String>,
}

/// A RAM user's AccessKey (root keys live in the resource store's `access_keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccessKey {
    pub id: String,
    pub secret: Secret,
    pub account_id: AccountId,
    pub user_id: String,
    pub status: KeyStatus,
    pub created_at: Millis,
}

/// Temporary credentials issued by STS AssumeRole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsSession {
    /// `STS.` + random.
    pub access_key_id: String,
    pub secret: Secret,
    pub security_token: String,
    /// The role's account (the session acts in it).
    pub account_id: AccountId,
    pub role_id: String,
    pub role_name: String,
    pub session_name: String,
    /// AssumeRole's `Policy`, if given.
    pub session_policy: Option<String>,
    /// ARN of the identity that assumed the role.
    pub source_arn: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// Identity storage inside one transaction.
pub trait IdentityTx {
    // ---- users -------------------------------------------------------------------------
    fn insert_ram_user(&mut self, user: &RamUser) -> StoreResult<()>;
    /// By name, case-insensitively.
    fn ram_user(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamUser>>;
    fn ram_user_by_id(&mut self, id: &str) -> StoreResult<Option<RamUser>>;
    fn update_ram_user(&mut self, user: &RamUser) -> StoreResult<()>;
    fn delete_ram_user(&mut self, id: &str) -> StoreResult<()>;
    /// Ordered by name; `offset`/`limit` page.
    fn ram_users(
        &mut self,
        account: AccountId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RamUser>>;
    fn count_ram_users(&mut self, account: AccountId) -> StoreResult<u64>;

    // ---- groups ------------------------------------------------------------------------
    fn insert_ram_group(&mut self, group: &RamGroup) -> StoreResult<()>;
    fn ram_group(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamGroup>>;
    fn ram_group_by_id(&mut self, id: &str) -> StoreResult<Option<RamGroup>>;
    fn update_ram_group(&mut self, group: &RamGroup) -> StoreResult<()>;
    fn delete_ram_group(&mut self, id: &str) -> StoreResult<()>;
    fn ram_groups(
        &mut self,
        account: AccountId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RamGroup>>;
    fn count_ram_groups(&mut self, account: AccountId) -> StoreResult<u64>;
    fn add_group_member(&mut self, group_id: &str, user_id: &str, now: Millis) -> StoreResult<()>;
    /// Whether the user was a member.
    fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool>;
    fn is_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool>;
    /// The user's groups and when it joined each, by group name.
    fn groups_of_user(&mut self, user_id: &str) -> StoreResult<Vec<(RamGroup, Millis)>>;
    /// The group's members and when each joined, by user name.
    fn members_of_group(
        &mut self,
        group_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<(RamUser, Millis)>>;
    fn count_group_members(&mut self, group_id: &str) -> StoreResult<u64>;

    // ---- roles -------------------------------------------------------------------------
    fn insert_ram_role(&mut self, role: &RamRole) -> StoreResult<()>;
    fn ram_role(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamRole>>;
    fn ram_role_by_id(&mut self, id: &str) -> StoreResult<Option<RamRole>>;
    fn update_ram_role(&mut self, role: &RamRole) -> StoreResult<()>;
    /// Deletes the role and every STS session issued for it.
    fn delete_ram_role(&mut self, id: &str) -> StoreResult<()>;
    fn ram_roles(
        &mut self,
        account: AccountId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RamRole>>;
    fn count_ram_roles(&mut self, account: AccountId) -> StoreResult<u64>;

    // ---- custom policies and versions --------------------------------------------------
    fn insert_custom_policy(
        &mut self,
        policy: &CustomPolicy,
        first: &PolicyVersion,
    ) -> StoreResult<()>;
    fn custom_policy(
        &mut self,
        account: AccountId,
        name: &str,
    ) -> StoreResult<Option<CustomPolicy>>;
    fn update_custom_policy(&mut self, policy: &CustomPolicy) -> StoreResult<()>;
    /// Deletes the policy and its versions.
    fn delete_custom_policy(&mut self, account: AccountId, name: &str) -> StoreResult<()>;
    /// Every custom policy of the account, by name.
    fn custom_policies(&mut self, account: AccountId) -> StoreResult<Vec<CustomPolicy>>;
    fn count_custom_policies(&mut self, account: AccountId) -> StoreResult<u64>;
    fn insert_policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version: &PolicyVersion,
    ) -> StoreResult<()>;
    fn policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<Option<PolicyVersion>>;
    /// Oldest first.
    fn policy_versions(
        &mut self,
        account: AccountId,
        policy_name: &str,
    ) -> StoreResult<Vec<PolicyVersion>>;
    fn delete_policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<()>;

    // ---- attachments -------------------------------------------------------------------
    fn attach_policy(&mut self, account: AccountId, attachment: &Attachment) -> StoreResult<()>;
    /// Whether it was attached.
    fn detach_policy(
        &mut self,
        kind: PrincipalKind,
        principal_id: &str,
        origin: PolicyOrigin,
        policy_name: &str,
    ) -> StoreResult<bool>;
    /// The policies attached directly to one principal, oldest attachment first.
    fn attachments_of(
        &mut self,
        kind: PrincipalKind,
        principal_id: &str,
    ) -> StoreResult<Vec<Attachment>>;
    /// Every attachment of one policy in the account.
    fn attachments_of_policy(
        &mut self,
        account: AccountId,
        origin: PolicyOrigin,
        policy_name: &str,
    ) -> StoreResult<Vec<Attachment>>;
    /// What authorization evaluates for a RAM user: the policies attached to it and to each of
    /// its groups (a policy reached twice is listed once), custom ones with their default
    /// version's text.
    fn policies_for_user(&mut self, user_id: &str) -> StoreResult<Vec<AppliedPolicy>>;
    /// The same for a role (its sessions).
    fn policies_for_role(&mut self, role_id: &str) -> StoreResult<Vec<AppliedPolicy>>;
    /// A value that changes (in the same transaction) whenever what [`Self::policies_for_user`]
    /// or [`Self::policies_for_role`] answers may change for anyone: attachments, group
    /// memberships, policies and their versions. Lets callers keep those answers between
    /// transactions.
    fn policy_generation(&mut self) -> StoreResult<i64>;

    // ---- user AccessKeys ---------------------------------------------------------------
    fn insert_user_access_key(&mut self, key: &UserAccessKey) -> StoreResult<()>;
    fn user_access_key(&mut self, id: &str) -> StoreResult<Option<UserAccessKey>>;
    /// Oldest first.
    fn user_access_keys(&mut self, user_id: &str) -> StoreResult<Vec<UserAccessKey>>;
    fn set_user_access_key_status(&mut self, id: &str, status: KeyStatus) -> StoreResult<()>;
    fn delete_user_access_key(&mut self, id: &str) -> StoreResult<()>;

    // ---- STS sessions ------------------------------------------------------------------
    fn insert_sts_session(&mut self, session: &StsSession) -> StoreResult<()>;
    fn sts_session(&mut self, access_key_id: &str) -> StoreResult<Option<StsSession>>;
    /// The AccessKey ID a SecurityToken was issued with, if it was issued at all.
    fn sts_key_of_token(&mut self, token: &str) -> StoreResult<Option<String>>;
    /// Forgets sessions that expired before `before`.
    fn delete_sts_sessions_before(&mut self, before: Millis) -> StoreResult<()>;
}
