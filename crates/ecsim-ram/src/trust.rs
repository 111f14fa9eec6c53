//! Trust policies: may this principal assume the role? (spec §3.3, §5.3, decision table rows
//! 10–12.)
//!
//! A trust statement applies when its action matches the request's action (`sts:AssumeRole`),
//! its `Principal` names the caller, and its conditions hold; as elsewhere, default deny and an
//! explicit Deny wins. The caller additionally needs `sts:AssumeRole` on the role's ARN in its
//! own identity policies: [`authorize_assume_role`] combines both. Root accounts cannot assume
//! roles at all (row 12); that is the server's check, before any policy is evaluated.

use std::fmt;

use crate::condition::RequestContext;
use crate::evaluate::{
    Decision, Outcome, PolicyRef, PolicySet, PolicyType, ResourceResult, Target, combine,
    decide_stage, evaluate,
};
use crate::matching::{arn, glob_match, glob_match_ignore_case};
use crate::policy::Principal;

/// Who is asking to assume a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustPrincipal {
    /// A RAM identity (a RAM user, or a role session assuming another role) of `account_id`,
    /// identified by its ARN. Matched by `Principal.RAM` entries naming the ARN, the account's
    /// `acs:ram::<uid>:root`, the bare UID, or `*`. ARNs compare case-insensitively (names are
    /// unique case-insensitively, open questions 11 and 12).
    Ram { account_id: String, arn: String },
    /// A cloud service such as `ecs.aliyuncs.com`, matched by `Principal.Service`.
    Service(String),
    /// An identity provider ARN, matched by `Principal.Federated`.
    Federated(String),
}

impl TrustPrincipal {
    /// The RAM user `acs:ram::<account>:user/<name>`.
    pub fn ram_user(account_id: &str, user_name: &str) -> Self {
        TrustPrincipal::Ram {
            account_id: account_id.to_owned(),
            arn: arn("ram", "", account_id, &format!("user/{user_name}")),
        }
    }

    /// A session of the role `acs:ram::<account>:role/<name>` (the role ARN without the session
    /// name, open question 12).
    pub fn ram_role(account_id: &str, role_name: &str) -> Self {
        TrustPrincipal::Ram {
            account_id: account_id.to_owned(),
            arn: arn("ram", "", account_id, &format!("role/{role_name}")),
        }
    }

    /// Does a statement's `Principal` name this caller?
    pub(crate) fn is_named_by(&self, p: &Principal) -> bool {
        match self {
            TrustPrincipal::Ram { account_id, arn } => p
                .ram()
                .iter()
                .any(|entry| ram_entry_names(entry, account_id, arn)),
            TrustPrincipal::Service(name) => p
                .service()
                .iter()
                .any(|entry| glob_match_ignore_case(entry, name)),
            TrustPrincipal::Federated(provider) => p
                .federated()
                .iter()
                .any(|entry| glob_match_ignore_case(entry, provider)),
        }
    }
}

impl fmt::Display for TrustPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustPrincipal::Ram { arn, .. } => write!(f, "RAM {arn}"),
            TrustPrincipal::Service(s) => write!(f, "Service {s}"),
            TrustPrincipal::Federated(s) => write!(f, "Federated {s}"),
        }
    }
}

/// `*`, a bare UID, `acs:ram::<uid>:root` (any identity of that account), or an identity ARN.
fn ram_entry_names(entry: &str, account_id: &str, caller_arn: &str) -> bool {
    if entry == "*" {
        return true;
    }
    if entry.bytes().all(|b| b.is_ascii_digit()) {
        return entry == account_id;
    }
    let parts: Vec<&str> = entry.splitn(5, ':').collect();
    match parts.as_slice() {
        [_, _, _, account_pattern, relative] if relative.eq_ignore_ascii_case("root") => {
            glob_match(account_pattern, account_id)
        }
        _ => glob_match_ignore_case(entry, caller_arn),
    }
}

/// Does the role's trust policy let `principal` perform `ctx.action()` (normally
/// `sts:AssumeRole`)? Resources in `ctx` are ignored (trust statements have none); condition
/// keys such as `acs:SourceIp` apply. A denial reports `PolicyType::AssumeRolePolicy`.
pub fn evaluate_trust(
    trust: PolicyRef<'_>,
    principal: &TrustPrincipal,
    ctx: &RequestContext,
) -> Decision {
    let target = Target {
        action: ctx.action(),
        resource: None,
        principal: Some(principal),
        ctx,
    };
    let (outcome, matched) = decide_stage(std::slice::from_ref(&trust), &target);
    combine(
        vec![ResourceResult {
            resource: ctx.resources().next().map(str::to_owned),
            outcome,
            stage: PolicyType::AssumeRolePolicy,
            matched,
        }],
        PolicyType::AssumeRolePolicy,
    )
}

/// The full AssumeRole check for a RAM caller (spec §3.3): its identity policies must allow
/// `ctx.action()` on the role ARN(s) in `ctx` **and** the trust policy must allow the caller.
///
/// Any explicit Deny (identity first, then trust) wins; otherwise an identity implicit deny is
/// reported before a trust implicit deny (decision table row 11: identity allows, trust does not
/// name the caller → `ImplicitDeny` / `AssumeRolePolicy`). When allowed, `matched` lists the
/// identity statements followed by the trust statements.
pub fn authorize_assume_role(
    identity: &PolicySet<'_>,
    trust: PolicyRef<'_>,
    principal: &TrustPrincipal,
    ctx: &RequestContext,
) -> Decision {
    let id = evaluate(identity, ctx);
    let tr = evaluate_trust(trust, principal, ctx);
    match (id.outcome, tr.outcome) {
        (Outcome::ExplicitDeny, _) => id,
        (_, Outcome::ExplicitDeny) => tr,
        (Outcome::ImplicitDeny, _) => id,
        (_, Outcome::ImplicitDeny) => tr,
        (Outcome::Allow, Outcome::Allow) => {
            let mut matched = id.matched;
            matched.extend(tr.matched);
            Decision { matched, ..id }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_entries() {
        let caller = "acs:ram::1234567890123456:user/alice";
        let acct = "1234567890123456";
        assert!(ram_entry_names("*", acct, caller));
        assert!(ram_entry_names("1234567890123456", acct, caller));
        assert!(!ram_entry_names("1234567890123457", acct, caller));
        assert!(ram_entry_names(
            "acs:ram::1234567890123456:root",
            acct,
            caller
        ));
        assert!(ram_entry_names(
            "acs:ram::1234567890123456:ROOT",
            acct,
            caller
        ));
        assert!(!ram_entry_names(
            "acs:ram::9999999999999999:root",
            acct,
            caller
        ));
        assert!(ram_entry_names("acs:ram::*:root", acct, caller));
        assert!(ram_entry_names(
            "acs:ram::1234567890123456:user/Alice",
            acct,
            caller
        ));
        assert!(ram_entry_names(
            "acs:ram::1234567890123456:user/*",
            acct,
            caller
        ));
        assert!(!ram_entry_names(
            "acs:ram::1234567890123456:user/bob",
            acct,
            caller
        ));
        assert!(!ram_entry_names(
            "acs:ram::1234567890123456:role/alice",
            acct,
            caller
        ));
    }
}
