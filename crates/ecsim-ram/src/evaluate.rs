//! The decision (spec §3): default deny, explicit Deny wins, every required resource must be
//! allowed, a session policy can only narrow.
//!
//! [`evaluate()`] is the hot path the server calls on every request; [`explain`] runs the same
//! tests statement by statement and records why each statement did or did not apply, for the
//! explain mode. Both take the same inputs and [`Explanation::decision`] always equals what
//! [`evaluate()`] returns.

use std::fmt;

use crate::condition::{ConditionTrace, RequestContext};
use crate::matching::{action_matches, resource_matches};
use crate::policy::{ActionElement, Effect, PolicyDocument, Statement};
use crate::trust::TrustPrincipal;

/// A policy to evaluate, with the name decisions report it under (e.g. `AliyunECSFullAccess`,
/// a custom policy name, or `session`).
#[derive(Debug, Clone, Copy)]
pub struct PolicyRef<'a> {
    /// Reported in [`MatchedStatement::policy`] and the explain traces.
    pub name: &'a str,
    /// The parsed document (for custom policies, the default version).
    pub document: &'a PolicyDocument,
}

impl<'a> PolicyRef<'a> {
    pub fn new(name: &'a str, document: &'a PolicyDocument) -> Self {
        PolicyRef { name, document }
    }
}

/// The policies that apply to one caller (spec §3.3): the identity policies (a user's own ∪ its
/// groups', or a role's), and for a role session the optional session policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// AssumeRole's `Policy`; when present it must also allow (it can only narrow).
    pub session: Option<PolicyRef<'a>>,
    /// The default versions of every policy attached to the principal.
    pub identity: &'a [PolicyRef<'a>],
}

impl<'a> PolicySet<'a> {
    /// Identity policies only (a RAM user, or a role session without a session policy).
    pub fn identity(policies: &'a [PolicyRef<'a>]) -> Self {
        PolicySet {
            session: None,
            identity: policies,
        }
    }

    /// Adds the session policy of a role session.
    pub fn with_session(self, session: PolicyRef<'a>) -> Self {
        PolicySet {
            session: Some(session),
            ..self
        }
    }
}

/// The result of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allow,
    /// A matching `Deny` statement.
    ExplicitDeny,
    /// Nothing allowed it (default deny).
    ImplicitDeny,
}

impl Outcome {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "Allow",
            Outcome::ExplicitDeny => "ExplicitDeny",
            Outcome::ImplicitDeny => "ImplicitDeny",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The evaluation stage a denial came from: `AccessDeniedDetail.PolicyType` (spec §4.2).
///
/// `ControlPolicy` and `ResourceGroupLevelIdentityBasedPolicy` are never produced: control
/// policies and resource-group attachments are out of scope (open question 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    SessionPolicy,
    AssumeRolePolicy,
    AccountLevelIdentityBasedPolicy,
}

impl PolicyType {
    /// The wire spelling, e.g. `AccountLevelIdentityBasedPolicy`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::SessionPolicy => "SessionPolicy",
            PolicyType::AssumeRolePolicy => "AssumeRolePolicy",
            PolicyType::AccountLevelIdentityBasedPolicy => "AccountLevelIdentityBasedPolicy",
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement that produced the decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchedStatement {
    /// The [`PolicyRef::name`] of its policy.
    pub policy: String,
    /// Its index in the policy's `Statement` list.
    pub statement_index: usize,
    pub effect: Effect,
}

/// A decision and what produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// For `Allow`: every Allow statement that applied (to any resource). For `ExplicitDeny`:
    /// every Deny statement that applied at the stage that denied. For `ImplicitDeny`: empty.
    /// Deduplicated, in evaluation order.
    pub matched: Vec<MatchedStatement>,
    /// The stage that denied (`AccessDeniedDetail.PolicyType`); `None` when allowed.
    pub policy_type: Option<PolicyType>,
    /// The first resource whose outcome is the final one (`AuthResource` of the diagnostic
    /// message); `None` when allowed or when the request named no resource.
    pub denied_resource: Option<String>,
}

impl Decision {
    /// Did the policies allow the request?
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// `AccessDeniedDetail.NoPermissionType`: `ImplicitDeny` / `ExplicitDeny`, `None` when allowed.
    pub fn no_permission_type(&self) -> Option<&'static str> {
        match self.outcome {
            Outcome::Allow => None,
            other => Some(other.as_str()),
        }
    }
}

/// Decides whether `policies` allow `ctx` (spec §3.2, §3.6, §3.7):
///
/// for each request resource, a session policy (if any) is evaluated first and anything but
/// `Allow` is final for that resource; otherwise the identity policies decide. The call is an
/// `ExplicitDeny` if any resource is explicitly denied, else an `ImplicitDeny` if any resource is
/// not allowed, else `Allow`. A context without resources is an `ImplicitDeny` (fail closed: the
/// action table must name at least `*`).
pub fn evaluate(policies: &PolicySet<'_>, ctx: &RequestContext) -> Decision {
    let mut results = Vec::with_capacity(ctx.resources().len());
    for (i, resource) in ctx.resources().enumerate() {
        let target = Target {
            action: ctx.action(),
            resource: Some((i, resource)),
            principal: None,
            ctx,
        };
        results.push(decide_resource(policies, &target));
    }
    combine(results, PolicyType::AccountLevelIdentityBasedPolicy)
}

/// One resource's outcome, the stage that produced it, and the statements behind it.
pub(crate) struct ResourceResult {
    pub(crate) resource: Option<String>,
    pub(crate) outcome: Outcome,
    pub(crate) stage: PolicyType,
    pub(crate) matched: Vec<MatchedStatement>,
}

fn decide_resource(policies: &PolicySet<'_>, target: &Target<'_>) -> ResourceResult {
    let resource = target.resource.map(|(_, r)| r.to_owned());
    let mut matched = Vec::new();
    if let Some(session) = policies.session {
        let (outcome, m) = decide_stage(std::slice::from_ref(&session), target);
        if outcome != Outcome::Allow {
            return ResourceResult {
                resource,
                outcome,
                stage: PolicyType::SessionPolicy,
                matched: m,
            };
        }
        matched = m;
    }
    let (outcome, m) = decide_stage(policies.identity, target);
    if outcome == Outcome::Allow {
        matched.extend(m);
    } else {
        matched = m;
    }
    ResourceResult {
        resource,
        outcome,
        stage: PolicyType::AccountLevelIdentityBasedPolicy,
        matched,
    }
}

/// Explicit Deny if any Deny statement applies, else Allow if any Allow applies, else implicit.
pub(crate) fn decide_stage(
    policies: &[PolicyRef<'_>],
    target: &Target<'_>,
) -> (Outcome, Vec<MatchedStatement>) {
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for p in policies {
        for (i, s) in p.document.statements().iter().enumerate() {
            if statement_applies(s, target) {
                let m = MatchedStatement {
                    policy: p.name.to_owned(),
                    statement_index: i,
                    effect: s.effect(),
                };
                match s.effect() {
                    Effect::Allow => allows.push(m),
                    Effect::Deny => denies.push(m),
                }
            }
        }
    }
    if !denies.is_empty() {
        (Outcome::ExplicitDeny, denies)
    } else if !allows.is_empty() {
        (Outcome::Allow, allows)
    } else {
        (Outcome::ImplicitDeny, Vec::new())
    }
}

/// Folds per-resource results into the call's decision. `empty_stage` is reported when there
/// was no resource at all.
pub(crate) fn combine(results: Vec<ResourceResult>, empty_stage: PolicyType) -> Decision {
    if results.is_empty() {
        return Decision {
            outcome: Outcome::ImplicitDeny,
            matched: Vec::new(),
            policy_type: Some(empty_stage),
            denied_resource: None,
        };
    }
    let outcome = if results.iter().any(|r| r.outcome == Outcome::ExplicitDeny) {
        Outcome::ExplicitDeny
    } else if results.iter().any(|r| r.outcome == Outcome::ImplicitDeny) {
        Outcome::ImplicitDeny
    } else {
        Outcome::Allow
    };
    let mut matched: Vec<MatchedStatement> = Vec::new();
    let mut first = None;
    for r in results.into_iter().filter(|r| r.outcome == outcome) {
        for m in r.matched {
            if !matched.contains(&m) {
                matched.push(m);
            }
        }
        if first.is_none() {
            first = Some((r.resource, r.stage));
        }
    }
    match (outcome, first) {
        (Outcome::Allow, _) | (_, None) => Decision {
            outcome,
            matched,
            policy_type: None,
            denied_resource: None,
        },
        (_, Some((resource, stage))) => Decision {
            outcome,
            matched,
            policy_type: Some(stage),
            denied_resource: resource,
        },
    }
}

/// What a statement is tested against: the action, the resource (identity policies) or the
/// principal (trust policies), and the condition keys.
pub(crate) struct Target<'a> {
    pub(crate) action: &'a str,
    /// `(index, arn)`; `None` for trust policies, which have no `Resource`.
    pub(crate) resource: Option<(usize, &'a str)>,
    /// `Some` for trust policies: the statement must name this principal.
    pub(crate) principal: Option<&'a TrustPrincipal>,
    pub(crate) ctx: &'a RequestContext,
}

impl Target<'_> {
    fn resource_index(&self) -> Option<usize> {
        self.resource.map(|(i, _)| i)
    }
}

fn action_part(s: &Statement, action: &str) -> bool {
    match s.action() {
        ActionElement::Action(list) => list.iter().any(|p| action_matches(p, action)),
        ActionElement::NotAction(list) => !list.iter().any(|p| action_matches(p, action)),
    }
}

fn resource_part(s: &Statement, target: &Target<'_>) -> bool {
    match target.resource {
        Some((_, r)) => s.resources().iter().any(|p| resource_matches(p, r)),
        None => true,
    }
}

fn principal_part(s: &Statement, target: &Target<'_>) -> bool {
    match target.principal {
        Some(who) => s.principal().is_some_and(|p| who.is_named_by(p)),
        None => true,
    }
}

/// `applies(stmt, action, r, ctx)` of spec §3.2.
pub(crate) fn statement_applies(s: &Statement, target: &Target<'_>) -> bool {
    action_part(s, target.action)
        && resource_part(s, target)
        && principal_part(s, target)
        && s.conditions()
            .iter()
            .all(|c| c.evaluate(target.ctx, target.resource_index()))
}

// ---------------------------------------------------------------------------------------------
// Explain mode.

/// A decision with the full per-resource, per-policy, per-statement trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The action explained.
    pub action: String,
    /// Identical to what [`evaluate()`] returns for the same inputs.
    pub decision: Decision,
    pub resources: Vec<ResourceTrace>,
}

/// How one request resource was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTrace {
    pub resource: String,
    pub outcome: Outcome,
    /// The stage that decided this resource.
    pub policy_type: PolicyType,
    /// The session policy (if any) first, then the identity policies, each fully traced even
    /// when an earlier stage already decided.
    pub policies: Vec<PolicyTrace>,
}

/// How one policy's statements fared against one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTrace {
    pub policy: String,
    /// `SessionPolicy` or `AccountLevelIdentityBasedPolicy`.
    pub policy_type: PolicyType,
    pub statements: Vec<StatementTrace>,
}

/// Which parts of one statement matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementTrace {
    pub statement_index: usize,
    pub effect: Effect,
    /// The action matched `Action` (or was not excluded by `NotAction`).
    pub action_matched: bool,
    /// The resource matched one of `Resource`.
    pub resource_matched: bool,
    /// Every condition test, in document order.
    pub conditions: Vec<ConditionTrace>,
    /// Action, resource and all conditions matched: the statement's effect counts.
    pub applies: bool,
    /// Why the statement does not apply, one sentence per failed part (empty when it applies).
    pub reasons: Vec<String>,
}

/// Runs [`evaluate()`] and records, for every resource, policy and statement, which parts
/// matched and why not. For the explain mode only: it allocates a trace per statement.
pub fn explain(policies: &PolicySet<'_>, ctx: &RequestContext) -> Explanation {
    let mut resources = Vec::new();
    for (i, resource) in ctx.resources().enumerate() {
        let target = Target {
            action: ctx.action(),
            resource: Some((i, resource)),
            principal: None,
            ctx,
        };
        let result = decide_resource(policies, &target);
        let mut traces = Vec::new();
        if let Some(session) = policies.session {
            traces.push(trace_policy(&session, PolicyType::SessionPolicy, &target));
        }
        for p in policies.identity {
            traces.push(trace_policy(
                p,
                PolicyType::AccountLevelIdentityBasedPolicy,
                &target,
            ));
        }
        resources.push(ResourceTrace {
            resource: resource.to_owned(),
            outcome: result.outcome,
            policy_type: result.stage,
            policies: traces,
        });
    }
    Explanation {
        action: ctx.action().to_owned(),
        decision: evaluate(policies, ctx),
        resources,
    }
}

fn trace_policy(p: &PolicyRef<'_>, policy_type: PolicyType, target: &Target<'_>) -> PolicyTrace {
    PolicyTrace {
        policy: p.name.to_owned(),
        policy_type,
        statements: p
            .document
            .statements()
            .iter()
            .enumerate()
            .map(|(i, s)| trace_statement(i, s, target))
            .collect(),
    }
}

pub(crate) fn trace_statement(index: usize, s: &Statement, target: &Target<'_>) -> StatementTrace {
    let action_matched = action_part(s, target.action);
    let resource_matched = resource_part(s, target);
    let principal_matched = principal_part(s, target);
    let conditions: Vec<ConditionTrace> = s
        .conditions()
        .iter()
        .map(|c| c.trace(target.ctx, target.resource_index()))
        .collect();
    let mut reasons = Vec::new();
    if !action_matched {
        reasons.push(match s.action() {
            ActionElement::Action(list) => {
                format!("action {} matches none of Action {:?}", target.action, list)
            }
            ActionElement::NotAction(list) => {
                format!(
                    "action {} is excluded by NotAction {:?}",
                    target.action, list
                )
            }
        });
    }
    match target.resource {
        Some((_, r)) if !resource_matched => reasons.push(format!(
            "resource {r} matches none of Resource {:?}",
            s.resources()
        )),
        _ => {}
    }
    if !principal_matched {
        reasons.push(match target.principal {
            Some(who) => format!("Principal does not name {who}"),
            None => "Principal does not name the caller".to_owned(),
        });
    }
    for c in conditions.iter().filter(|c| !c.satisfied) {
        reasons.push(format!("condition {} failed: {}", c.operator, c.detail));
    }
    let applies = action_matched
        && resource_matched
        && principal_matched
        && conditions.iter().all(|c| c.satisfied);
    StatementTrace {
        statement_index: index,
        effect: s.effect(),
        action_matched,
        resource_matched,
        conditions,
        applies,
        reasons,
    }
}

impl fmt::Display for Explanation {
    /// A plain-text report for people debugging policies, e.g.
    ///
    /// ```text
    /// ecs:DeleteImage: ImplicitDeny (AccountLevelIdentityBasedPolicy)
    ///   resource acs:ecs:cn-hangzhou:1234567890123456:image/m-bp1abc: ImplicitDeny
    ///     policy describe-only (AccountLevelIdentityBasedPolicy)
    ///       statement 0 Allow: does not apply: action ecs:DeleteImage matches none of Action ["ecs:Describe*"]
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.action, self.decision.outcome)?;
        if let Some(t) = self.decision.policy_type {
            write!(f, " ({t})")?;
        }
        writeln!(f)?;
        if self.resources.is_empty() {
            writeln!(f, "  no resource to authorize: denied")?;
        }
        for r in &self.resources {
            writeln!(
                f,
                "  resource {}: {} ({})",
                r.resource, r.outcome, r.policy_type
            )?;
            if r.policies.is_empty() {
                writeln!(f, "    no policy applies to the caller")?;
            }
            for p in &r.policies {
                writeln!(f, "    policy {} ({})", p.policy, p.policy_type)?;
                for s in &p.statements {
                    if s.applies {
                        writeln!(
                            f,
                            "      statement {} {}: applies",
                            s.statement_index, s.effect
                        )?;
                    } else {
                        writeln!(
                            f,
                            "      statement {} {}: does not apply: {}",
                            s.statement_index,
                            s.effect,
                            s.reasons.join("; ")
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}
