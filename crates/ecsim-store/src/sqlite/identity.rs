//! The SQLite implementation of [`IdentityTx`]; its tables are in `identity.sql`.

use super::{SqliteTx, from_doc, page_bounds, to_doc};
use crate::identity::{
    AppliedPolicy, Attachment, CustomPolicy, PolicyOrigin, PolicyVersion, PrincipalKind, RamGroup,
    RamRole, RamUser, StsSession, UserAccessKey,
};
use crate::{IdentityTx, StoreError, StoreResult};
use ecsim_core::Millis;
use ecsim_core::model::{AccountId, KeyStatus, Secret};
use rusqlite::{OptionalExtension, Row, params};
use serde::de::DeserializeOwned;

pub(super) const SCHEMA: &str = include_str!("identity.sql");

fn bad_column(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("stored {what} {value:?} is not valid"))
}

fn attachment_of(row: &Row<'_>) -> rusqlite::Result<(String, String, String, String, Millis)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_attachment(
    (kind, id, origin, name, at): (String, String, String, String, Millis),
) -> StoreResult<Attachment> {
    Ok(Attachment {
        principal_kind: PrincipalKind::parse(&kind)
            .ok_or_else(|| bad_column("principal", &kind))?,
        principal_id: id,
        origin: PolicyOrigin::parse(&origin).ok_or_else(|| bad_column("policy type", &origin))?,
        policy_name: name,
        attached_at: at,
    })
}

fn user_key_of(row: &Row<'_>) -> rusqlite::Result<UserAccessKey> {
    let status: String = row.get(4)?;
    Ok(UserAccessKey {
        id: row.get(0)?,
        secret: Secret::new(row.get::<_, String>(1)?),
        account_id: row.get(2)?,
        user_id: row.get(3)?,
        status: KeyStatus::parse(&status).unwrap_or(KeyStatus::Inactive),
        created_at: row.get(5)?,
    })
}

const USER_KEY_COLUMNS: &str = "id, secret, account_id, user_id, status, created_at";

impl SqliteTx<'_> {
    fn doc_where<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> StoreResult<Option<T>> {
        let doc: Option<String> = self
            .conn
            .prepare_cached(sql)?
            .query_row(args, |r| r.get(0))
            .optional()?;
        doc.map(|d| from_doc(&d)).transpose()
    }

    fn docs_where<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> StoreResult<Vec<T>> {
        let docs: Vec<String> = self
            .conn
            .prepare_cached(sql)?
            .query_map(args, |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    fn execute(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> StoreResult<usize> {
        Ok(self.conn.prepare_cached(sql)?.execute(args)?)
    }

    fn applied(&self, sql: &str, principal_id: &str) -> StoreResult<Vec<AppliedPolicy>> {
        let rows: Vec<(String, String, String, Option<String>)> = self
            .conn
            .prepare_cached(sql)?
            .query_map([principal_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut out: Vec<AppliedPolicy> = Vec::with_capacity(rows.len());
        for (kind, origin, name, document) in rows {
            let attached_to =
                PrincipalKind::parse(&kind).ok_or_else(|| bad_column("principal", &kind))?;
            let origin =
                PolicyOrigin::parse(&origin).ok_or_else(|| bad_column("policy type", &origin))?;
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
}

/// Custom policies carry their default version's text; a system policy's comes with the binary.
const APPLIED_COLUMNS: &str = "a.principal_type, a.policy_type, a.policy_name, v.document
    FROM ram_attachments a
    LEFT JOIN ram_policies p
        ON a.policy_type = 'Custom' AND p.account_id = a.account_id AND p.name = a.policy_name
    LEFT JOIN ram_policy_versions v
        ON v.account_id = p.account_id AND v.policy_name = p.name AND v.version_id = p.default_version";

impl IdentityTx for SqliteTx<'_> {
    // ---- users -------------------------------------------------------------------------

    fn insert_ram_user(&mut self, user: &RamUser) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_users(id, account_id, name, doc) VALUES (?, ?, ?, ?)",
            &[&user.id, &user.account_id, &user.name, &to_doc(user)?],
        )?;
        Ok(())
    }

    fn ram_user(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamUser>> {
        self.doc_where(
            "SELECT doc FROM ram_users WHERE account_id = ? AND name = ?",
            &[&account, &name],
        )
    }

    fn ram_user_by_id(&mut self, id: &str) -> StoreResult<Option<RamUser>> {
        self.doc_where("SELECT doc FROM ram_users WHERE id = ?", &[&id])
    }

    fn update_ram_user(&mut self, user: &RamUser) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_users SET name = ?, doc = ? WHERE id = ?",
            &[&user.name, &to_doc(user)?, &user.id],
        )?;
        Ok(())
    }

    fn delete_ram_user(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM ram_group_members WHERE user_id = ?", &[&id])?;
        self.execute(
            "DELETE FROM ram_attachments WHERE principal_type = 'User' AND principal_id = ?",
            &[&id],
        )?;
        self.execute("DELETE FROM ram_access_keys WHERE user_id = ?", &[&id])?;
        self.execute("DELETE FROM ram_users WHERE id = ?", &[&id])?;
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
            "SELECT doc FROM ram_users WHERE account_id = ? ORDER BY name, id LIMIT ? OFFSET ?",
            &[&account, &lim, &off],
        )
    }

    fn count_ram_users(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_users WHERE account_id = ?",
            &[&account],
        )
    }

    // ---- groups ------------------------------------------------------------------------

    fn insert_ram_group(&mut self, group: &RamGroup) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_groups(id, account_id, name, doc) VALUES (?, ?, ?, ?)",
            &[&group.id, &group.account_id, &group.name, &to_doc(group)?],
        )?;
        Ok(())
    }

    fn ram_group(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamGroup>> {
        self.doc_where(
            "SELECT doc FROM ram_groups WHERE account_id = ? AND name = ?",
            &[&account, &name],
        )
    }

    fn ram_group_by_id(&mut self, id: &str) -> StoreResult<Option<RamGroup>> {
        self.doc_where("SELECT doc FROM ram_groups WHERE id = ?", &[&id])
    }

    fn update_ram_group(&mut self, group: &RamGroup) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_groups SET name = ?, doc = ? WHERE id = ?",
            &[&group.name, &to_doc(group)?, &group.id],
        )?;
        Ok(())
    }

    fn delete_ram_group(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM ram_group_members WHERE group_id = ?", &[&id])?;
        self.execute(
            "DELETE FROM ram_attachments WHERE principal_type = 'Group' AND principal_id = ?",
            &[&id],
        )?;
        self.execute("DELETE FROM ram_groups WHERE id = ?", &[&id])?;
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
            "SELECT doc FROM ram_groups WHERE account_id = ? ORDER BY name, id LIMIT ? OFFSET ?",
            &[&account, &lim, &off],
        )
    }

    fn count_ram_groups(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_groups WHERE account_id = ?",
            &[&account],
        )
    }

    fn add_group_member(&mut self, group_id: &str, user_id: &str, now: Millis) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_group_members(group_id, user_id, joined_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            &[&group_id, &user_id, &now],
        )?;
        Ok(())
    }

    fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        Ok(self.execute(
            "DELETE FROM ram_group_members WHERE group_id = ? AND user_id = ?",
            &[&group_id, &user_id],
        )? > 0)
    }

    fn is_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM ram_group_members WHERE group_id = ? AND user_id = ?)",
            &[&group_id, &user_id],
        )
    }

    fn groups_of_user(&mut self, user_id: &str) -> StoreResult<Vec<(RamGroup, Millis)>> {
        let rows: Vec<(String, Millis)> = self
            .conn
            .prepare_cached(
                "SELECT g.doc, m.joined_at FROM ram_group_members m JOIN ram_groups g ON g.id = m.group_id
                 WHERE m.user_id = ? ORDER BY g.name, g.id",
            )?
            .query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(doc, at)| Ok((from_doc(&doc)?, at)))
            .collect()
    }

    fn members_of_group(
        &mut self,
        group_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<(RamUser, Millis)>> {
        let (lim, off) = page_bounds(offset, limit);
        let rows: Vec<(String, Millis)> = self
            .conn
            .prepare_cached(
                "SELECT u.doc, m.joined_at FROM ram_group_members m JOIN ram_users u ON u.id = m.user_id
                 WHERE m.group_id = ? ORDER BY u.name, u.id LIMIT ? OFFSET ?",
            )?
            .query_map(params![group_id, lim, off], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(doc, at)| Ok((from_doc(&doc)?, at)))
            .collect()
    }

    fn count_group_members(&mut self, group_id: &str) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_group_members WHERE group_id = ?",
            &[&group_id],
        )
    }

    // ---- roles -------------------------------------------------------------------------

    fn insert_ram_role(&mut self, role: &RamRole) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_roles(id, account_id, name, doc) VALUES (?, ?, ?, ?)",
            &[&role.id, &role.account_id, &role.name, &to_doc(role)?],
        )?;
        Ok(())
    }

    fn ram_role(&mut self, account: AccountId, name: &str) -> StoreResult<Option<RamRole>> {
        self.doc_where(
            "SELECT doc FROM ram_roles WHERE account_id = ? AND name = ?",
            &[&account, &name],
        )
    }

    fn ram_role_by_id(&mut self, id: &str) -> StoreResult<Option<RamRole>> {
        self.doc_where("SELECT doc FROM ram_roles WHERE id = ?", &[&id])
    }

    fn update_ram_role(&mut self, role: &RamRole) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_roles SET name = ?, doc = ? WHERE id = ?",
            &[&role.name, &to_doc(role)?, &role.id],
        )?;
        Ok(())
    }

    fn delete_ram_role(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM sts_sessions WHERE role_id = ?", &[&id])?;
        self.execute(
            "DELETE FROM ram_attachments WHERE principal_type = 'Role' AND principal_id = ?",
            &[&id],
        )?;
        self.execute("DELETE FROM ram_roles WHERE id = ?", &[&id])?;
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
            "SELECT doc FROM ram_roles WHERE account_id = ? ORDER BY name, id LIMIT ? OFFSET ?",
            &[&account, &lim, &off],
        )
    }

    fn count_ram_roles(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_roles WHERE account_id = ?",
            &[&account],
        )
    }

    // ---- custom policies and versions --------------------------------------------------

    fn insert_custom_policy(
        &mut self,
        policy: &CustomPolicy,
        first: &PolicyVersion,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_policies(account_id, name, default_version, doc) VALUES (?, ?, ?, ?)",
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
            "SELECT doc FROM ram_policies WHERE account_id = ? AND name = ?",
            &[&account, &name],
        )
    }

    fn update_custom_policy(&mut self, policy: &CustomPolicy) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_policies SET default_version = ?, doc = ? WHERE account_id = ? AND name = ?",
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
            "DELETE FROM ram_policy_versions WHERE account_id = ? AND policy_name = ?",
            &[&account, &name],
        )?;
        self.execute(
            "DELETE FROM ram_policies WHERE account_id = ? AND name = ?",
            &[&account, &name],
        )?;
        Ok(())
    }

    fn custom_policies(&mut self, account: AccountId) -> StoreResult<Vec<CustomPolicy>> {
        self.docs_where(
            "SELECT doc FROM ram_policies WHERE account_id = ? ORDER BY name",
            &[&account],
        )
    }

    fn count_custom_policies(&mut self, account: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM ram_policies WHERE account_id = ?",
            &[&account],
        )
    }

    fn insert_policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version: &PolicyVersion,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_policy_versions(account_id, policy_name, version_id, document, created_at) VALUES (?, ?, ?, ?, ?)",
            &[
                &account,
                &policy_name,
                &version.version_id,
                &version.document,
                &version.created_at,
            ],
        )?;
        Ok(())
    }

    fn policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<Option<PolicyVersion>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT version_id, document, created_at FROM ram_policy_versions
                 WHERE account_id = ? AND policy_name = ? AND version_id = ?",
            )?
            .query_row(params![account, policy_name, version_id], |r| {
                Ok(PolicyVersion {
                    version_id: r.get(0)?,
                    document: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn policy_versions(
        &mut self,
        account: AccountId,
        policy_name: &str,
    ) -> StoreResult<Vec<PolicyVersion>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT version_id, document, created_at FROM ram_policy_versions
                 WHERE account_id = ? AND policy_name = ?
                 ORDER BY created_at, CAST(substr(version_id, 2) AS INTEGER)",
            )?
            .query_map(params![account, policy_name], |r| {
                Ok(PolicyVersion {
                    version_id: r.get(0)?,
                    document: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    fn delete_policy_version(
        &mut self,
        account: AccountId,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<()> {
        self.execute(
            "DELETE FROM ram_policy_versions WHERE account_id = ? AND policy_name = ? AND version_id = ?",
            &[&account, &policy_name, &version_id],
        )?;
        Ok(())
    }

    // ---- attachments -------------------------------------------------------------------

    fn attach_policy(&mut self, account: AccountId, a: &Attachment) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_attachments(account_id, principal_type, principal_id, policy_type, policy_name, attached_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
            "DELETE FROM ram_attachments WHERE principal_type = ? AND principal_id = ? AND policy_type = ? AND policy_name = ?",
            &[&kind.as_str(), &principal_id, &origin.as_str(), &policy_name],
        )? > 0)
    }

    fn attachments_of(
        &mut self,
        kind: PrincipalKind,
        principal_id: &str,
    ) -> StoreResult<Vec<Attachment>> {
        let rows: Vec<_> = self
            .conn
            .prepare_cached(
                "SELECT principal_type, principal_id, policy_type, policy_name, attached_at FROM ram_attachments
                 WHERE principal_type = ? AND principal_id = ? ORDER BY attached_at, rowid",
            )?
            .query_map([kind.as_str(), principal_id], attachment_of)?
            .collect::<Result<_, _>>()?;
        rows.into_iter().map(to_attachment).collect()
    }

    fn attachments_of_policy(
        &mut self,
        account: AccountId,
        origin: PolicyOrigin,
        policy_name: &str,
    ) -> StoreResult<Vec<Attachment>> {
        let rows: Vec<_> = self
            .conn
            .prepare_cached(
                "SELECT principal_type, principal_id, policy_type, policy_name, attached_at FROM ram_attachments
                 WHERE account_id = ? AND policy_type = ? AND policy_name = ? ORDER BY attached_at, rowid",
            )?
            .query_map(params![account, origin.as_str(), policy_name], attachment_of)?
            .collect::<Result<_, _>>()?;
        rows.into_iter().map(to_attachment).collect()
    }

    fn policies_for_user(&mut self, user_id: &str) -> StoreResult<Vec<AppliedPolicy>> {
        self.applied(
            &format!(
                "SELECT {APPLIED_COLUMNS}
                 WHERE a.principal_type = 'User' AND a.principal_id = ?1
                 UNION ALL
                 SELECT {APPLIED_COLUMNS}
                 JOIN ram_group_members m ON m.group_id = a.principal_id
                 WHERE a.principal_type = 'Group' AND m.user_id = ?1"
            ),
            user_id,
        )
    }

    fn policies_for_role(&mut self, role_id: &str) -> StoreResult<Vec<AppliedPolicy>> {
        self.applied(
            &format!(
                "SELECT {APPLIED_COLUMNS} WHERE a.principal_type = 'Role' AND a.principal_id = ?1"
            ),
            role_id,
        )
    }

    fn policy_generation(&mut self) -> StoreResult<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM ram_generation WHERE id = 0")?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    // ---- user AccessKeys ---------------------------------------------------------------

    fn insert_user_access_key(&mut self, key: &UserAccessKey) -> StoreResult<()> {
        self.execute(
            "INSERT INTO ram_access_keys(id, secret, account_id, user_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            &[
                &key.id,
                &key.secret.expose(),
                &key.account_id,
                &key.user_id,
                &key.status.as_str(),
                &key.created_at,
            ],
        )?;
        Ok(())
    }

    fn user_access_key(&mut self, id: &str) -> StoreResult<Option<UserAccessKey>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {USER_KEY_COLUMNS} FROM ram_access_keys WHERE id = ?"
            ))?
            .query_row([id], user_key_of)
            .optional()?)
    }

    fn user_access_keys(&mut self, user_id: &str) -> StoreResult<Vec<UserAccessKey>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {USER_KEY_COLUMNS} FROM ram_access_keys WHERE user_id = ? ORDER BY created_at, id"
            ))?
            .query_map([user_id], user_key_of)?
            .collect::<Result<_, _>>()?)
    }

    fn set_user_access_key_status(&mut self, id: &str, status: KeyStatus) -> StoreResult<()> {
        self.execute(
            "UPDATE ram_access_keys SET status = ? WHERE id = ?",
            &[&status.as_str(), &id],
        )?;
        Ok(())
    }

    fn delete_user_access_key(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM ram_access_keys WHERE id = ?", &[&id])?;
        Ok(())
    }

    // ---- STS sessions ------------------------------------------------------------------

    fn insert_sts_session(&mut self, s: &StsSession) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sts_sessions(access_key_id, secret, security_token, account_id, role_id, role_name,
                 session_name, session_policy, source_arn, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        )?;
        Ok(())
    }

    fn sts_session(&mut self, access_key_id: &str) -> StoreResult<Option<StsSession>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT access_key_id, secret, security_token, account_id, role_id, role_name,
                        session_name, session_policy, source_arn, created_at, expires_at
                 FROM sts_sessions WHERE access_key_id = ?",
            )?
            .query_row([access_key_id], |r| {
                Ok(StsSession {
                    access_key_id: r.get(0)?,
                    secret: Secret::new(r.get::<_, String>(1)?),
                    security_token: r.get(2)?,
                    account_id: r.get(3)?,
                    role_id: r.get(4)?,
                    role_name: r.get(5)?,
                    session_name: r.get(6)?,
                    session_policy: r.get(7)?,
                    source_arn: r.get(8)?,
                    created_at: r.get(9)?,
                    expires_at: r.get(10)?,
                })
            })
            .optional()?)
    }

    fn sts_key_of_token(&mut self, token: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT access_key_id FROM sts_sessions WHERE security_token = ?")?
            .query_row([token], |r| r.get(0))
            .optional()?)
    }

    fn delete_sts_sessions_before(&mut self, before: Millis) -> StoreResult<()> {
        self.execute("DELETE FROM sts_sessions WHERE expires_at < ?", &[&before])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::identity::*;
    use crate::{Store, Tx};
    use ecsim_core::model::{KeyStatus, Secret};
    use ecsim_wire::ApiError;

    fn temp_store() -> (Store, std::path::PathBuf) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "ecsim-identity-test-{nanos}-{}",
            std::process::id()
        ));
        let path = dir.join("ecsim.db");
        let store = Store::open(path.to_str().expect("utf-8")).expect("opens");
        (store, dir)
    }

    fn user(id: &str, name: &str) -> RamUser {
        RamUser {
            id: id.into(),
            account_id: 1,
            name: name.into(),
            display_name: String::new(),
            mobile_phone: String::new(),
            email: String::new(),
            comments: String::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn attach(tx: &mut dyn Tx, kind: PrincipalKind, id: &str, origin: PolicyOrigin, name: &str) {
        tx.attach_policy(
            1,
            &Attachment {
                principal_kind: kind,
                principal_id: id.into(),
                origin,
                policy_name: name.into(),
                attached_at: 0,
            },
        )
        .expect("attaches");
    }

    #[test]
    fn names_are_unique_case_insensitively_and_kept_as_given() {
        let (store, dir) = temp_store();
        store
            .write(|tx| {
                tx.insert_ram_user(&user("1", "Alice"))?;
                assert!(tx.insert_ram_user(&user("2", "aLICE")).is_err());
                let found = tx.ram_user(1, "ALICE")?.expect("found");
                assert_eq!(found.name, "Alice");
                assert!(tx.ram_user(2, "alice")?.is_none(), "account-scoped");
                Ok::<_, ApiError>(())
            })
            .expect("writes");
        drop(store);
        // The schema is applied at every open.
        let again = Store::open(dir.join("ecsim.db").to_str().expect("utf-8")).expect("reopens");
        let n = again.read(|tx| Ok(tx.count_ram_users(1)?)).expect("reads");
        assert_eq!(n, 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_users_policies_include_its_groups_once_each_with_the_default_version() {
        let (store, dir) = temp_store();
        store
            .write(|tx| {
                tx.insert_ram_user(&user("u1", "alice"))?;
                tx.insert_ram_group(&RamGroup {
                    id: "g1".into(),
                    account_id: 1,
                    name: "ops".into(),
                    comments: String::new(),
                    created_at: 0,
                    updated_at: 0,
                })?;
                tx.add_group_member("g1", "u1", 5)?;
                let policy = CustomPolicy {
                    account_id: 1,
                    name: "Mine".into(),
                    description: String::new(),
                    default_version: "v2".into(),
                    next_version: 3,
                    created_at: 0,
                    updated_at: 0,
                };
                tx.insert_custom_policy(
                    &policy,
                    &PolicyVersion {
                        version_id: "v1".into(),
                        document: "old".into(),
                        created_at: 0,
                    },
                )?;
                tx.insert_policy_version(
                    1,
                    "Mine",
                    &PolicyVersion {
                        version_id: "v2".into(),
                        document: "new".into(),
                        created_at: 1,
                    },
                )?;
                attach(tx, PrincipalKind::User, "u1", PolicyOrigin::Custom, "Mine");
                attach(tx, PrincipalKind::Group, "g1", PolicyOrigin::Custom, "mine");
                attach(
                    tx,
                    PrincipalKind::Group,
                    "g1",
                    PolicyOrigin::System,
                    "ReadOnlyAccess",
                );
                let applied = tx.policies_for_user("u1")?;
                assert_eq!(applied.len(), 2, "{applied:?}");
                assert_eq!(applied[0].document.as_deref(), Some("new"));
                assert_eq!(applied[0].attached_to, PrincipalKind::User);
                assert_eq!(applied[1].origin, PolicyOrigin::System);
                assert_eq!(applied[1].attached_to, PrincipalKind::Group);
                assert_eq!(applied[1].document, None);
                // Leaving the group drops its policies (and moves the generation); deleting the
                // user drops its own.
                let before = tx.policy_generation()?;
                assert!(tx.remove_group_member("g1", "u1")?);
                assert_ne!(tx.policy_generation()?, before);
                assert_eq!(tx.policies_for_user("u1")?.len(), 1);
                tx.delete_ram_user("u1")?;
                assert!(tx.policies_for_user("u1")?.is_empty());
                Ok::<_, ApiError>(())
            })
            .expect("writes");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn keys_and_sessions_round_trip_and_role_deletion_ends_sessions() {
        let (store, dir) = temp_store();
        store
            .write(|tx| {
                tx.insert_user_access_key(&UserAccessKey {
                    id: "LTAIuser".into(),
                    secret: Secret::new("s"),
                    account_id: 1,
                    user_id: "u1".into(),
                    status: KeyStatus::Active,
                    created_at: 0,
                })?;
                tx.set_user_access_key_status("LTAIuser", KeyStatus::Inactive)?;
                let key = tx.user_access_key("LTAIuser")?.expect("found");
                assert_eq!(key.status, KeyStatus::Inactive);
                assert_eq!(key.secret.expose(), "s");
                tx.insert_sts_session(&StsSession {
                    access_key_id: "STS.a".into(),
                    secret: Secret::new("x"),
                    security_token: "CAIStoken".into(),
                    account_id: 1,
                    role_id: "r1".into(),
                    role_name: "reader".into(),
                    session_name: "s".into(),
                    session_policy: None,
                    source_arn: "acs:ram::1:user/alice".into(),
                    created_at: 0,
                    expires_at: 10,
                })?;
                assert_eq!(tx.sts_key_of_token("CAIStoken")?.as_deref(), Some("STS.a"));
                assert!(tx.sts_session("STS.a")?.is_some());
                tx.delete_ram_role("r1")?;
                assert!(tx.sts_session("STS.a")?.is_none());
                Ok::<_, ApiError>(())
            })
            .expect("writes");
        let _ = std::fs::remove_dir_all(dir);
    }
}
