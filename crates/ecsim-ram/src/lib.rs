//! The RAM policy engine (spec `ram-authorization.md`): parse and validate policy documents the
//! way Alibaba Cloud RAM accepts or rejects them, match actions, ARNs and conditions, and decide
//! `Allow` / `ExplicitDeny` / `ImplicitDeny` together with the statements that produced the
//! decision and, on demand, a per-statement explanation.
//!
//! Pure: no I/O, no clock, no knowledge of users, groups or the store. The server looks up which
//! policies apply to a caller (§3.3), builds a [`RequestContext`] from the action table and the
//! request, and asks [`evaluate()`] (or [`explain`] for the explain mode). The root account bypass
//! (§3.1) is the caller's business: this crate only evaluates policies.
//!
//! ```
//! use ecsim_ram::{evaluate, PolicyDocument, PolicyRef, PolicySet, RequestContext, Outcome, ecs_arn};
//!
//! let doc = PolicyDocument::parse_identity(
//!     r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}"#,
//! ).unwrap();
//! let attached = [PolicyRef::new("describe-only", &doc)];
//! let ctx = RequestContext::new("ecs:DeleteImage")
//!     .with_resource(ecs_arn("cn-hangzhou", "1234567890123456", "image/m-bp1abc"));
//! let decision = evaluate(&PolicySet::identity(&attached), &ctx);
//! assert_eq!(decision.outcome, Outcome::ImplicitDeny);
//! assert_eq!(decision.no_permission_type(), Some("ImplicitDeny"));
//! ```

pub mod condition;
pub mod evaluate;
mod json;
pub mod matching;
pub mod policy;
pub mod system_policies;
pub mod trust;

pub use condition::{Condition, ConditionTrace, Operator, RequestContext};
pub use evaluate::{
    Decision, Explanation, MatchedStatement, Outcome, PolicyRef, PolicySet, PolicyTrace,
    PolicyType, ResourceTrace, StatementTrace, evaluate, explain,
};
pub use matching::{arn, ecs_arn};
pub use policy::{
    ActionElement, Effect, PolicyDocument, PolicyError, PolicyKind, Principal, Statement,
};
pub use trust::{TrustPrincipal, authorize_assume_role, evaluate_trust};
