//! The PostgreSQL implementation of [`IdentityTx`]; its tables are in `identity.sql`. Mirrors
//! `sqlite/identity.rs` statement by statement; names compare with `lower(…)` where SQLite's
//! columns are `COLLATE NOCASE`.

use super::{PgTx, from_doc, get, page_bounds, to_doc};
use crate::identity::{
    AppliedPolicy, Attachment, CustomPolicy, PolicyOrigin, PolicyVersion, PrincipalKind, RamGroup,
    RamRole, RamUser, StsSession, UserAccessKey,
};
use crate::{IdentityTx, StoreError, StoreResult};
use ecsim_core::Millis;
use ecsim_core::model::{AccountId, KeyStatus, Secret};
use tokio_postgres::Row;

pub(super) const SCHEMA: &str = include_str!("identity.sql");

fn bad_column(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("stored {what} {value:?} is not valid"))
}

fn to_attachment(row: &Row) -> StoreResult<Attachment> {
    let kind: &str = get(row, 0)?;
    let origin: &str = get(row, 2)?;
    Ok(Attachment {
        principal_kind: PrincipalKind::parse(kind).ok_or_else(|| bad_column("principal", kind))?,
        principal_id: get(row, 1)?,
        origin: PolicyOrigin::parse(origin).ok_or_else(|| bad_column("policy type", origin))?,
        policy_name: get(row, 3)?,
        attached_at: get(row, 4)?,
    })
}

fn user_key_of(row: &Row) -> StoreResult<UserAccessKey> {
    Ok(UserAccessKey {
        id: get(row, 0)?,
        secret: Secret::new(get::<String>(row, 1)?),
        account_id: get(row, 2)?,
        user_id: get(row, 3)?,
        status: KeyStatus::parse(get(row, 4)?).unwrap_or(KeyStatus::Inactive),
        created_at: get(row, 5)?,
    })
}

fn version_of(row: &Row) -> StoreResult<PolicyVersion> {
    Ok(PolicyVersion {
        version_id: get(row, 0)?,
        document: get(row, 1)?,
        created_at: get(row, 2)?,
    })
}

const USER_KEY_COLUMNS: &str = "id, secret, account_id, user_id, status, created_at";

/// Custom policies carry their default version's text; a system policy's comes with the binary.
const APPLIED_COLUMNS: &str = "a.principal_type, a.policy_type, a.policy_name, v.document
    FROM ram_attachments a
    LEFT JOIN ram_policies p
        ON a.policy_type = 'Custom' AND p.account_id = a.account_id AND lower(p.name) = lower(a.policy_name)
    LEFT JOIN ram_policy_versions v
        ON v.account_id = p.account_id AND lower(v.policy_name) = lower(p.name) AND v.version_id = p.default_version";

impl PgTx<'_> {
    fn applied(&mut self, sql: &str, principal_id: &str) -> StoreResult<Vec<AppliedPolicy>> {
        let rows = self.rows(sql, &[&principal_id])?;
        let mut out: Vec<AppliedPolicy> = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: &str = get(row, 0)?;
            let origin: &str = get(row, 1)?;
            let name: String = get(row, 2)?;
            let document: Option<String> = get(row, 3)?;
            let attached_to =
                PrincipalKind::parse(kind).ok_or_else(|| bad_column("principal", kind))?;
            let origin =
                PolicyOrigin::parse(origin).ok_or_else(|| bad_column("policy type", origin))?;
            if out
                .iter()
                .any(|p| p.origin == origin && p.name.eq_ignore_ascii_case(&name))
            {
                continue;
            }
            out.push(AppliedPolicy {
                attached_to,
                origin,
                name,
                document,
            });
        }
        Ok(out)
    }

    fn member_rows<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<(T, Millis)>> {
        self.rows(sql, args)?
            .iter()
            .map(|r| Ok((from_doc(get::<&str>(r, 0)?)?, get(r, 1)?)))
            .collect()
    }
}

impl IdentityTx for PgTx<'_> {
    // ---- users -------------------------------------------------------------------------

    fn insert_ram_user(&mut self, user: &RamUser) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO ram_users(id, account_id, name, doc) VALUES ($1, $2, $3, $4)",
            &[&user.id, &user.account_id, &user.name, &to_doc(user)?],
        )
    }

    fn ram_user(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamUser>> {
        self.doc_where(
            "SELECT doc FROM ram_users WHERE account_id = $1 AND lower(name) = lower($2)",
            &[&account, &name],
        )
    }

    fn ram_user_by_id(&mut self, id: &str) -> StoreResult<Option<RamUser>> {
        self.doc_where("SELECT doc FROM ram_users WHERE id = $1", &[&id])
    }

    fn update_ram_user(&mut self, user: &RamUser) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_users SET name = $1, doc = $2 WHERE id = $3",
            &[&user.name, &to_doc(user)?, &user.id],
        )?;
        Ok(())
    }

    fn delete_ram_user(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM ram_group_members WHERE user_id = $1", &[&id])?;
        self.execute(
            "DELETE FROM ram_attachments WHERE principal_type = 'User' AND principal_id = $1",
            &[&id],
        )?;
        self.execute("DELETE FROM ram_access_keys WHERE user_id = $1", &[&id])?;
        self.execute("DELETE FROM ram_users WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn ram_users(
        &mut self,
        account: AccountId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RamUser>> {
        let (lim, off) = page_bounds(offset, limit);
        self.docs_where(
            "SELECT doc FROM ram_users WHERE account_id = $1 ORDER BY lower(name), id LIMIT $2 OFFSET $3",
            &[&account, &lim, &off],
        )
    }

    fn count_ram_users(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_users WHERE account_id = $1",
            &[&account],
        )
    }

    // ---- groups ------------------------------------------------------------------------

    fn insert_ram_group(&mut self, group: &RamGroup) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO ram_groups(id, account_id, name, doc) VALUES ($1, $2, $3, $4)",
            &[&group.id, &group.account_id, &group.name, &to_doc(group)?],
        )
    }

    fn ram_group(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamGroup>> {
        self.doc_where(
            "SELECT doc FROM ram_groups WHERE account_id = $1 AND lower(name) = lower($2)",
            &[&account, &name],
        )
    }

    fn ram_group_by_id(&mut self, id: &str) -> StoreResult<Option<RamGroup>> {
        self.doc_where("SELECT doc FROM ram_groups WHERE id = $1", &[&id])
    }

    fn update_ram_group(&mut self, group: &RamGroup) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_groups SET name = $1, doc = $2 WHERE id = $3",
            &[&group.name, &to_doc(group)?, &group.id],
        )?;
        Ok(())
    }

    fn delete_ram_group(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM ram_group_members WHERE group_id = $1", &[&id])?;
        self.execute(
            "DELETE FROM ram_attachments WHERE principal_type = 'Group' AND principal_id = $1",
            &[&id],
        )?;
        self.execute("DELETE FROM ram_groups WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn ram_groups(
        &mut self,
        account: AccountId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RamGroup>> {
        let (lim, off) = page_bounds(offset, limit);
        self.docs_where(
            "SELECT doc FROM ram_groups WHERE account_id = $1 ORDER BY lower(name), id LIMIT $2 OFFSET $3",
            &[&account, &lim, &off],
        )
    }

    fn count_ram_groups(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_groups WHERE account_id = $1",
            &[&account],
        )
    }

    fn add_group_member(&mut self, group_id: &str, user_id: &str, now: Millis) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_group_members(group_id, user_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&group_id, &user_id, &now],
        )?;
        Ok(())
    }

    fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        Ok(self.execute(
            "DELETE FROM ram_group_members WHERE group_id = $1 AND user_id = $2",
            &[&group_id, &user_id],
        )? > 0)
    }

    fn is_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM ram_group_members WHERE group_id = $1 AND user_id = $2)",
            &[&group_id, &user_id],
        )
    }

    fn groups_of_user(&mut self, user_id: &str) -> StoreResult<Vec<(RamGroup, Millis)>> {
        self.member_rows(
            "SELECT g.doc, m.joined_at FROM ram_group_members m JOIN ram_groups g ON g.id = m.group_id
             WHERE m.user_id = $1 ORDER BY lower(g.name), g.id",
            &[&user_id],
        )
    }

    fn members_of_group(
        &mut self,
        group_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<(RamUser, Millis)>> {
        let (lim, off) = page_bounds(offset, limit);
        self.member_rows(
            "SELECT u.doc, m.joined_at FROM ram_group_members m JOIN ram_users u ON u.id = m.user_id
             WHERE m.group_id = $1 ORDER BY lower(u.name), u.id LIMIT $2 OFFSET $3",
            &[&group_id, &lim, &off],
        )
    }

    fn count_group_members(&mut self, group_id: &str) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_group_members WHERE group_id = $1",
            &[&group_id],
        )
    }

    // ---- roles -------------------------------------------------------------------------

    fn insert_ram_role(&mut self, role: &RamRole) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO ram_roles(id, account_id, name, doc) VALUES ($1, $2, $3, $4)",
            &[&role.id, &role.account_id, &role.name, &to_doc(role)?],
        )
    }

    fn ram_role(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamRole>> {
        self.doc_where(
            "SELECT doc FROM ram_roles WHERE account_id = $1 AND lower(name) = lower($2)",
            &[&account, &name],
        )
    }

    fn ram_role_by_id(&mut self, id: &str) -> StoreResult<Option<RamRole>> {
        self.doc_where("SELECT doc FROM ram_roles WHERE id = $1", &[&id])
    }

    fn update_ram_role(&mut self, role: &RamRole) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_roles SET name = $1, doc = $2 WHERE id = $3",
            &[&role.name, &to_doc(role)?, &role.id],
        )?;
        Ok(())
    }

    fn delete_ram_role(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM sts_sessions WHERE role_id = $1", &[&id])?;
        self.execute(
            "DELETE FROM ram_attachments WHERE principal_type = 'Role' AND principal_id = $1",
            &[&id],
        )?;
        self.execute("DELETE FROM ram_roles WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn ram_roles(
        &mut self,
        account: AccountId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RamRole>> {
        let (lim, off) = page_bounds(offset, limit);
        self.docs_where(
            "SELECT doc FROM ram_roles WHERE account_id = $1 ORDER BY lower(name), id LIMIT $2 OFFSET $3",
            &[&account, &lim, &off],
        )
    }

    fn count_ram_roles(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_roles WHERE account_id = $1",
            &[&account],
        )
    }

    // ---- custom policies and versions --------------------------------------------------

    fn insert_custom_policy(
        &mut self,
        policy: &CustomPolicy,
        first: &PolicyVersion,
    ) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO ram_policies(account_id, name, default_version, doc) VALUES ($1, $2, $3, $4)",
            &[
                &policy.account_id,
                &policy.name,
                &policy.default_version,
                &to_doc(policy)?,
            ],
        )?;
        self.insert_policy_version(policy.account_id, &policy.name, first)
    }

    fn custom_policy(
        &mut self,
        account: AccountId,
        name: &str,
    ) -> StoreResult<Option<CustomPolicy>> {
        self.doc_where(
            "SELECT doc FROM ram_policies WHERE account_id = $1 AND lower(name) = lower($2)",
            &[&account, &name],
        )
    }

    fn update_custom_policy(&mut self, policy: &CustomPolicy) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_policies SET default_version = $1, doc = $2 WHERE account_id = $3 AND lower(name) = lower($4)",
            &[
                &policy.default_version,
                &to_doc(policy)?,
                &policy.account_id,
                &policy.name,
            ],
        )?;
        Ok(())
    }

    fn delete_custom_policy(&mut self, account: AccountId, name: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM ram_policy_versions WHERE account_id = $1 AND lower(policy_name) = lower($2)",
            &[&account, &name],
        )?;
        self.execute(
            "DELETE FROM ram_policies WHERE account_id = $1 AND lower(name) = lower($2)",
            &[&account, &name],
        )?;
        Ok(())
    }

    fn custom_policies(&mut self, account: AccountId) -> StoreResult<Vec<CustomPolicy>> {
        self.docs_where(
            "SELECT doc FROM ram_policies WHERE account_id = $1 ORDER BY lower(name)",
            &[&account],
        )
    }

    fn count_custom_policies(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_policies WHERE account_id = $1",
            &[&account],
        )
    }

    fn insert_policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version: &PolicyVersion,
    ) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO ram_policy_versions(account_id, policy_name, version_id, document, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                &account,
                &policy_name,
                &version.version_id,
                &version.document,
                &version.created_at,
            ],
        )
    }

    fn policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<Option<PolicyVersion>> {
        self.row(
            "SELECT version_id, document, created_at FROM ram_policy_versions
             WHERE account_id = $1 AND lower(policy_name) = lower($2) AND version_id = $3",
            &[&account, &policy_name, &version_id],
        )?
        .as_ref()
        .map(version_of)
        .transpose()
    }

    fn policy_versions(
        &mut self,
        account: AccountId,
        policy_name: &str,
    ) -> StoreResult<Vec<PolicyVersion>> {
        self.rows(
            "SELECT version_id, document, created_at FROM ram_policy_versions
             WHERE account_id = $1 AND lower(policy_name) = lower($2)
             ORDER BY created_at, CAST(substr(version_id, 2) AS BIGINT)",
            &[&account, &policy_name],
        )?
        .iter()
        .map(version_of)
        .collect()
    }

    fn delete_policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<()> {
        self.execute(
            "DELETE FROM ram_policy_versions WHERE account_id = $1 AND lower(policy_name) = lower($2) AND version_id = $3",
            &[&account, &policy_name, &version_id],
        )?;
        Ok(())
    }

    // ---- attachments -------------------------------------------------------------------

    fn attach_policy(&mut self, account: AccountId, a: &Attachment) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_attachments(account_id, principal_type, principal_id, policy_type, policy_name, attached_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &account,
                &a.principal_kind.as_str(),
                &a.principal_id,
                &a.origin.as_str(),
                &a.policy_name,
                &a.attached_at,
            ],
        )?;
        Ok(())
    }

    fn detach_policy(
        &mut self,
        kind: PrincipalKind,
        principal_id: &str,
        origin: PolicyOrigin,
        policy_name: &str,
    ) -> StoreResult<bool> {
        Ok(self.execute(
            "DELETE FROM ram_attachments WHERE principal_type = $1 AND principal_id = $2 AND policy_type = $3 AND lower(policy_name) = lower($4)",
            &[&kind.as_str(), &principal_id, &origin.as_str(), &policy_name],
        )? > 0)
    }

    fn attachments_of(
        &mut self,
        kind: PrincipalKind,
        principal_id: &str,
    ) -> StoreResult<Vec<Attachment>> {
        self.rows(
            "SELECT principal_type, principal_id, policy_type, policy_name, attached_at FROM ram_attachments
             WHERE principal_type = $1 AND principal_id = $2 ORDER BY attached_at, seq",
            &[&kind.as_str(), &principal_id],
        )?
        .iter()
        .map(to_attachment)
        .collect()
    }

    fn attachments_of_policy(
        &mut self,
        account: AccountId,
        origin: PolicyOrigin,
        policy_name: &str,
    ) -> StoreResult<Vec<Attachment>> {
        self.rows(
            "SELECT principal_type, principal_id, policy_type, policy_name, attached_at FROM ram_attachments
             WHERE account_id = $1 AND policy_type = $2 AND lower(policy_name) = lower($3) ORDER BY attached_at, seq",
            &[&account, &origin.as_str(), &policy_name],
        )?
        .iter()
        .map(to_attachment)
        .collect()
    }

    fn policies_for_user(&mut self, user_id: &str) -> StoreResult<Vec<AppliedPolicy>> {
        self.applied(
            &format!(
                "SELECT {APPLIED_COLUMNS}
                 WHERE a.principal_type = 'User' AND a.principal_id = $1
                 UNION ALL
                 SELECT {APPLIED_COLUMNS}
                 JOIN ram_group_members m ON m.group_id = a.principal_id
                 WHERE a.principal_type = 'Group' AND m.user_id = $1"
            ),
            user_id,
        )
    }

    fn policies_for_role(&mut self, role_id: &str) -> StoreResult<Vec<AppliedPolicy>> {
        self.applied(
            &format!(
                "SELECT {APPLIED_COLUMNS} WHERE a.principal_type = 'Role' AND a.principal_id = $1"
            ),
            role_id,
        )
    }

    fn policy_generation(&mut self) -> StoreResult<i64> {
        match self.row("SELECT value FROM ram_generation WHERE id = 0", &[])? {
            Some(row) => get(&row, 0),
            None => Ok(0),
        }
    }

    // ---- user AccessKeys ---------------------------------------------------------------

    fn insert_user_access_key(&mut self, key: &UserAccessKey) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO ram_access_keys(id, secret, account_id, user_id, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &key.id,
                &key.secret.expose(),
                &key.account_id,
                &key.user_id,
                &key.status.as_str(),
                &key.created_at,
            ],
        )
    }

    fn user_access_key(&mut self, id: &str) -> StoreResult<Option<UserAccessKey>> {
        self.row(
            &format!("SELECT {USER_KEY_COLUMNS} FROM ram_access_keys WHERE id = $1"),
            &[&id],
        )?
        .as_ref()
        .map(user_key_of)
        .transpose()
    }

    fn user_access_keys(&mut self, user_id: &str) -> StoreResult<Vec<UserAccessKey>> {
        self.rows(
            &format!(
                "SELECT {USER_KEY_COLUMNS} FROM ram_access_keys WHERE user_id = $1 ORDER BY created_at, id"
            ),
            &[&user_id],
        )?
        .iter()
        .map(user_key_of)
        .collect()
    }

    fn set_user_access_key_status(&mut self, id: &str, status: KeyStatus) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_access_keys SET status = $1 WHERE id = $2",
            &[&status.as_str(), &id],
        )?;
        Ok(())
    }

    fn delete_user_access_key(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM ram_access_keys WHERE id = $1", &[&id])?;
        Ok(())
    }

    // ---- STS sessions ------------------------------------------------------------------

    fn insert_sts_session(&mut self, s: &StsSession) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO sts_sessions(access_key_id, secret, security_token, account_id, role_id, role_name,
                 session_name, session_policy, source_arn, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &s.access_key_id,
                &s.secret.expose(),
                &s.security_token,
                &s.account_id,
                &s.role_id,
                &s.role_name,
                &s.session_name,
                &s.session_policy,
                &s.source_arn,
                &s.created_at,
                &s.expires_at,
            ],
        )
    }

    fn sts_session(&mut self, access_key_id: &str) -> StoreResult<Option<StsSession>> {
        let Some(r) = self.row(
            "SELECT access_key_id, secret, security_token, account_id, role_id, role_name,
                    session_name, session_policy, source_arn, created_at, expires_at
             FROM sts_sessions WHERE access_key_id = $1",
            &[&access_key_id],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(StsSession {
            access_key_id: get(&r, 0)?,
            secret: Secret::new(get::<String>(&r, 1)?),
            security_token: get(&r, 2)?,
            account_id: get(&r, 3)?,
            role_id: get(&r, 4)?,
            role_name: get(&r, 5)?,
            session_name: get(&r, 6)?,
            session_policy: get(&r, 7)?,
            source_arn: get(&r, 8)?,
            created_at: get(&r, 9)?,
            expires_at: get(&r, 10)?,
        }))
    }

    fn sts_key_of_token(&mut self, token: &str) -> StoreResult<Option<String>> {
        match self.row(
            "SELECT access_key_id FROM sts_sessions WHERE security_token = $1",
            &[&token],
        )? {
            Some(row) => Ok(Some(get(&row, 0)?)),
            None => Ok(None),
        }
    }

    fn delete_sts_sessions_before(&mut self, before: Millis) -> StoreResult<()> {
        self.execute("DELETE FROM sts_sessions WHERE expires_at < $1", &[&before])?;
        Ok(())
    }
}
