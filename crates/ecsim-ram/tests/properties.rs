//! Property tests (spec §7): algebraic laws of the decision, and a differential test against a
//! deliberately naive reference evaluator written here from the spec text, over random policies
//! and requests drawn from small vocabularies (so that matches are frequent).

use std::net::Ipv4Addr;

use ecsim_ram::{
    Decision, Outcome, PolicyDocument, PolicyKind, PolicyRef, PolicySet, PolicyType,
    RequestContext, evaluate, explain, matching,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// The model: policies and requests as plain data, rendered to JSON for the real parser.

const ACTION_PATTERNS: &[&str] = &[
    "ecs:DeleteImage",
    "ecs:DescribeImages",
    "ecs:Describe*",
    "ecs:*",
    "*",
    "ECS:deleteimage",
    "ram:*",
    "*:Describe*",
    "ecs:?eleteImage",
    "ecs:CreateImage",
    "ecs:*Image*",
    "vpc:Describe?pcs",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "acs:ecs:*:*:image/*",
    "acs:ecs:cn-hangzhou:1234567890123456:image/m-1",
    "acs:ecs:cn-shanghai:*:image/*",
    "acs:ecs:*:*:instance/*",
    "acs:ecs:*:1234567890123456:image/m-?",
    "ACS:ECS:*:*:*",
    "acs:ecs:*:*:image/m-1*",
    "acs:ecs:cn-hangzhou:1234567890123456:IMAGE/m-1",
    "acs:*:*hangzhou*:*:*",
];

const ACTIONS: &[&str] = &[
    "ecs:DeleteImage",
    "ecs:DescribeImages",
    "ecs:CreateImage",
    "ram:CreateUser",
    "vpc:DescribeVpcs",
    "ecs:DescribeImageFromFamily",
];

const RESOURCES: &[&str] = &[
    "acs:ecs:cn-hangzhou:1234567890123456:image/m-1",
    "acs:ecs:cn-hangzhou:1234567890123456:image/m-12",
    "acs:ecs:cn-shanghai:1234567890123456:image/*",
    "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1",
    "*",
    "acs:ecs:cn-hangzhou:9999999999999999:image/m-1",
];

/// (operator, key, value pool); Bool entries draw exactly one value.
const CONDITIONS: &[(&str, &str, &[&str])] = &[
    (
        "IpAddress",
        "acs:SourceIp",
        &["10.0.0.0/8", "203.0.113.0/24", "192.168.1.1"],
    ),
    (
        "NotIpAddress",
        "acs:SourceIp",
        &["10.0.0.0/8", "203.0.113.7"],
    ),
    ("StringEquals", "acs:SourceVpc", &["vpc-1", "vpc-2"]),
    ("StringNotEquals", "acs:SourceVpc", &["vpc-1", "vpc-2"]),
    ("Bool", "acs:SecureTransport", &["true", "false"]),
    (
        "DateLessThan",
        "acs:CurrentTime",
        &["2026-01-01T00:00:00Z", "2024-01-01T00:00:00Z"],
    ),
    (
        "DateGreaterThanEquals",
        "acs:CurrentTime",
        &["2025-01-01T00:00:00Z"],
    ),
    ("StringLike", "acs:AccessId", &["STS.*", "LTAI?*"]),
    ("StringNotLike", "acs:AccessId", &["STS.*"]),
    ("StringEquals", "acs:ResourceTag/env", &["prod", "dev"]),
    ("StringEqualsIgnoreCase", "acs:ResourceTag/env", &["PROD"]),
    ("NumericLessThan", "ecs:Count", &["5", "10"]),
    ("NumericNotEquals", "ecs:Count", &["7"]),
];

#[derive(Debug, Clone)]
struct MCond {
    entry: usize,
    values: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct MStmt {
    allow: bool,
    not_action: bool,
    actions: Vec<&'static str>,
    resources: Vec<&'static str>,
    conds: Vec<MCond>,
}

type MPolicy = Vec<MStmt>;

#[derive(Debug, Clone)]
struct MReq {
    action: &'static str,
    /// (resource, its `env` tag)
    resources: Vec<(&'static str, Option<&'static str>)>,
    source_ip: &'static str,
    vpc: Option<&'static str>,
    secure: Option<bool>,
    time: &'static str,
    access_id: Option<&'static str>,
    count: Option<&'static str>,
}

impl MCond {
    fn op(&self) -> &'static str {
        CONDITIONS[self.entry].0
    }
    fn key(&self) -> &'static str {
        CONDITIONS[self.entry].1
    }
}

/// Conditions keyed by (operator, key) must be unique in a statement; keep the first of each.
fn dedup_conds(conds: Vec<MCond>) -> Vec<MCond> {
    let mut out: Vec<MCond> = Vec::new();
    for c in conds {
        if !out.iter().any(|o| o.op() == c.op() && o.key() == c.key()) {
            out.push(c);
        }
    }
    out
}

fn render_stmt(s: &MStmt) -> Value {
    let mut m = Map::new();
    m.insert(
        "Effect".into(),
        json!(if s.allow { "Allow" } else { "Deny" }),
    );
    let actions = if s.actions.len() == 1 {
        json!(s.actions[0])
    } else {
        json!(s.actions)
    };
    m.insert(
        if s.not_action { "NotAction" } else { "Action" }.into(),
        actions,
    );
    m.insert("Resource".into(), json!(s.resources));
    if !s.conds.is_empty() {
        let mut block = Map::new();
        for c in &s.conds {
            let op = block
                .entry(c.op().to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = op {
                keys.insert(c.key().to_owned(), json!(c.values));
            }
        }
        m.insert("Condition".into(), Value::Object(block));
    }
    Value::Object(m)
}

fn render(policy: &MPolicy) -> String {
    let statements: Vec<Value> = policy.iter().map(render_stmt).collect();
    json!({"Version": "1", "Statement": statements}).to_string()
}

fn parse(policy: &MPolicy) -> PolicyDocument {
    PolicyDocument::parse(&render(policy), PolicyKind::Identity)
        .unwrap_or_else(|e| panic!("generated policy must be valid: {e}\n{}", render(policy)))
}

fn context(req: &MReq) -> RequestContext {
    let mut ctx = RequestContext::new(req.action);
    for (r, tag) in &req.resources {
        ctx = match tag {
            Some(v) => ctx.with_tagged_resource(*r, [("env", *v)]),
            None => ctx.with_resource(*r),
        };
    }
    ctx = ctx
        .with_source_ip(req.source_ip.parse().expect("valid test fixture"))
        .with_key("acs:CurrentTime", req.time);
    if let Some(v) = req.vpc {
        ctx = ctx.with_key("acs:SourceVpc", v);
    }
    if let Some(b) = req.secure {
        ctx = ctx.with_secure_transport(b);
    }
    if let Some(a) = req.access_id {
        ctx = ctx.with_access_id(a);
    }
    if let Some(c) = req.count {
        ctx = ctx.with_key("ECS:count", c);
    }
    ctx
}

// ---------------------------------------------------------------------------------------------
// The reference evaluator: brute force, recursion, no shared code with the crate.

fn naive_glob(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|k| naive_glob(rest, &t[k..])),
        Some(('?', rest)) => !t.is_empty() && naive_glob(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && naive_glob(rest, &t[1..]),
    }
}

fn glob_str(p: &str, t: &str) -> bool {
    naive_glob(
        &p.chars().collect::<Vec<_>>(),
        &t.chars().collect::<Vec<_>>(),
    )
}

fn ref_action(p: &str, a: &str) -> bool {
    glob_str(&p.to_lowercase(), &a.to_lowercase())
}

fn ref_arn_fold(s: &str) -> String {
    let parts: Vec<&str> = s.splitn(3, ':').collect();
    match parts.as_slice() {
        [a, b, rest] => format!("{}:{}:{}", a.to_lowercase(), b.to_lowercase(), rest),
        _ => s.to_lowercase(),
    }
}

fn ref_resource(p: &str, r: &str) -> bool {
    glob_str(&ref_arn_fold(p), &ref_arn_fold(r))
}

fn ref_cidr(net: &str, ip: &str) -> bool {
    let (addr, bits) = net.split_once('/').unwrap_or((net, "32"));
    let bits: u32 = bits.parse().expect("valid test fixture");
    let a = u32::from(addr.parse::<Ipv4Addr>().expect("vocabulary IPs are valid"));
    let b = u32::from(ip.parse::<Ipv4Addr>().expect("vocabulary IPs are valid"));
    bits == 0 || (a >> (32 - bits)) == (b >> (32 - bits))
}

fn int(s: &str) -> i64 {
    s.parse().expect("vocabulary numbers are integers")
}

fn ref_request_values(key: &str, req: &MReq, resource: usize) -> Option<String> {
    match key {
        "acs:SourceIp" => Some(req.source_ip.to_owned()),
        "acs:SourceVpc" => req.vpc.map(str::to_owned),
        "acs:SecureTransport" => req.secure.map(|b| b.to_string()),
        "acs:CurrentTime" => Some(req.time.to_owned()),
        "acs:AccessId" => req.access_id.map(str::to_owned),
        "acs:ResourceTag/env" => req.resources[resource].1.map(str::to_owned),
        "ecs:Count" => req.count.map(str::to_owned),
        _ => None,
    }
}

fn ref_condition(c: &MCond, req: &MReq, resource: usize) -> bool {
    let (op, negated) = match c.op() {
        "NotIpAddress" => ("IpAddress", true),
        "StringNotEquals" => ("StringEquals", true),
        "StringNotLike" => ("StringLike", true),
        "NumericNotEquals" => ("NumericEquals", true),
        other => (other, false),
    };
    let Some(rv) = ref_request_values(c.key(), req, resource) else {
        return negated;
    };
    let any = c.values.iter().any(|pv| match op {
        "IpAddress" => ref_cidr(pv, &rv),
        "StringEquals" => rv == *pv,
        "StringEqualsIgnoreCase" => rv.to_uppercase() == pv.to_uppercase(),
        "StringLike" => glob_str(pv, &rv),
        "Bool" => rv == *pv,
        // Same fixed format, all UTC: string order is time order.
        "DateLessThan" => rv.as_str() < *pv,
        "DateGreaterThanEquals" => rv.as_str() >= *pv,
        "NumericLessThan" => int(&rv) < int(pv),
        "NumericEquals" => int(&rv) == int(pv),
        other => panic!("reference does not know {other}"),
    });
    any != negated
}

fn ref_applies(s: &MStmt, req: &MReq, resource: usize) -> bool {
    let hit = s.actions.iter().any(|p| ref_action(p, req.action));
    let action_ok = if s.not_action { !hit } else { hit };
    action_ok
        && s.resources
            .iter()
            .any(|p| ref_resource(p, req.resources[resource].0))
        && s.conds.iter().all(|c| ref_condition(c, req, resource))
}

fn ref_stage(policies: &[MPolicy], req: &MReq, resource: usize) -> Outcome {
    let all = || policies.iter().flatten();
    if all().any(|s| !s.allow && ref_applies(s, req, resource)) {
        Outcome::ExplicitDeny
    } else if all().any(|s| s.allow && ref_applies(s, req, resource)) {
        Outcome::Allow
    } else {
        Outcome::ImplicitDeny
    }
}

/// (outcome, stage of the first resource with that outcome, that resource)
fn ref_decide(
    session: Option<&MPolicy>,
    identity: &[MPolicy],
    req: &MReq,
) -> (Outcome, Option<PolicyType>, Option<String>) {
    if req.resources.is_empty() {
        return (
            Outcome::ImplicitDeny,
            Some(PolicyType::AccountLevelIdentityBasedPolicy),
            None,
        );
    }
    let per: Vec<(Outcome, PolicyType)> = (0..req.resources.len())
        .map(|i| {
            if let Some(s) = session {
                let o = ref_stage(std::slice::from_ref(s), req, i);
                if o != Outcome::Allow {
                    return (o, PolicyType::SessionPolicy);
                }
            }
            (
                ref_stage(identity, req, i),
                PolicyType::AccountLevelIdentityBasedPolicy,
            )
        })
        .collect();
    let final_outcome = [Outcome::ExplicitDeny, Outcome::ImplicitDeny]
        .into_iter()
        .find(|o| per.iter().any(|(p, _)| p == o))
        .unwrap_or(Outcome::Allow);
    if final_outcome == Outcome::Allow {
        return (Outcome::Allow, None, None);
    }
    let i = per
        .iter()
        .position(|(o, _)| *o == final_outcome)
        .expect("valid test fixture");
    (
        final_outcome,
        Some(per[i].1),
        Some(req.resources[i].0.to_owned()),
    )
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn cond_strategy() -> impl Strategy<Value = MCond> {
    (0..CONDITIONS.len()).prop_flat_map(|entry| {
        let pool = CONDITIONS[entry].2.to_vec();
        let max = if CONDITIONS[entry].0 == "Bool" {
            1
        } else {
            pool.len()
        };
        prop::sample::subsequence(pool, 1..=max).prop_map(move |values| MCond { entry, values })
    })
}

fn stmt_strategy() -> impl Strategy<Value = MStmt> {
    (
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.15),
        prop::collection::vec(prop::sample::select(ACTION_PATTERNS), 1..=3),
        prop::collection::vec(prop::sample::select(RESOURCE_PATTERNS), 1..=3),
        prop::collection::vec(cond_strategy(), 0..=2),
    )
        .prop_map(|(allow, not_action, actions, resources, conds)| MStmt {
            allow,
            not_action,
            actions,
            resources,
            conds: dedup_conds(conds),
        })
}

fn policy_strategy() -> impl Strategy<Value = MPolicy> {
    prop::collection::vec(stmt_strategy(), 1..=4)
}

fn req_strategy() -> impl Strategy<Value = MReq> {
    (
        prop::sample::select(ACTIONS),
        prop::collection::vec(
            (
                prop::sample::select(RESOURCES),
                prop::option::of(prop::sample::select(&["prod", "dev", "Prod"][..])),
            ),
            1..=3,
        ),
        prop::sample::select(&["10.1.2.3", "203.0.113.7", "192.168.1.1"][..]),
        prop::option::of(prop::sample::select(&["vpc-1", "vpc-2"][..])),
        prop::option::of(any::<bool>()),
        prop::sample::select(&["2025-06-01T00:00:00Z", "2023-06-01T00:00:00Z"][..]),
        prop::option::of(prop::sample::select(&["STS.NKKJ4fxw", "LTAI5tXyz"][..])),
        prop::option::of(prop::sample::select(&["3", "7", "12"][..])),
    )
        .prop_map(
            |(action, resources, source_ip, vpc, secure, time, access_id, count)| MReq {
                action,
                resources,
                source_ip,
                vpc,
                secure,
                time,
                access_id,
                count,
            },
        )
}

/// (session policy, identity policies)
fn set_strategy() -> impl Strategy<Value = (Option<MPolicy>, Vec<MPolicy>)> {
    (
        prop::option::weighted(0.3, policy_strategy()),
        prop::collection::vec(policy_strategy(), 0..=4),
    )
}

struct Parsed {
    session: Option<PolicyDocument>,
    identity: Vec<PolicyDocument>,
    names: Vec<String>,
}

impl Parsed {
    fn new(session: &Option<MPolicy>, identity: &[MPolicy]) -> Self {
        Parsed {
            session: session.as_ref().map(parse),
            identity: identity.iter().map(parse).collect(),
            names: (0..identity.len()).map(|i| format!("p{i}")).collect(),
        }
    }

    fn decide(&self, ctx: &RequestContext) -> Decision {
        let refs: Vec<PolicyRef<'_>> = self
            .identity
            .iter()
            .zip(&self.names)
            .map(|(d, n)| PolicyRef::new(n, d))
            .collect();
        let mut set = PolicySet::identity(&refs);
        if let Some(s) = &self.session {
            set = set.with_session(PolicyRef::new("session", s));
        }
        let d = evaluate(&set, ctx);
        let e = explain(&set, ctx);
        assert_eq!(e.decision, d, "explain disagrees with evaluate");
        // Every per-statement trace agrees with the decision's matched list.
        for m in &d.matched {
            let applied = e.resources.iter().any(|r| {
                r.policies
                    .iter()
                    .any(|p| p.policy == m.policy && p.statements[m.statement_index].applies)
            });
            assert!(applied, "matched statement {m:?} has no applying trace");
        }
        d
    }
}

fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut state = seed | 1;
    for i in (1..v.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

fn matched_set(d: &Decision) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = d
        .matched
        .iter()
        .map(|m| (m.policy.clone(), m.statement_index))
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    /// Differential: the engine agrees with the naive reference on outcome, stage and resource.
    #[test]
    fn agrees_with_reference((session, identity) in set_strategy(), req in req_strategy()) {
        let parsed = Parsed::new(&session, &identity);
        let d = parsed.decide(&context(&req));
        let (outcome, policy_type, resource) = ref_decide(session.as_ref(), &identity, &req);
        prop_assert_eq!(d.outcome, outcome);
        prop_assert_eq!(d.policy_type, policy_type);
        prop_assert_eq!(d.denied_resource, resource);
        prop_assert_eq!(d.matched.is_empty(), d.outcome == Outcome::ImplicitDeny);
    }

    /// Adding a Deny statement (anywhere) never grants and never lifts an explicit deny.
    #[test]
    fn adding_deny_never_grants(
        (session, identity) in set_strategy(),
        req in req_strategy(),
        extra in stmt_strategy(),
        at in any::<prop::sample::Index>(),
    ) {
        let before = Parsed::new(&session, &identity).decide(&context(&req));
        let deny = MStmt { allow: false, ..extra };
        let mut more = identity.clone();
        if more.is_empty() {
            more.push(vec![deny]);
        } else {
            let i = at.index(more.len());
            more[i].push(deny);
        }
        let after = Parsed::new(&session, &more).decide(&context(&req));
        if after.outcome == Outcome::Allow {
            prop_assert_eq!(before.outcome, Outcome::Allow);
        }
        if before.outcome == Outcome::ExplicitDeny {
            prop_assert_eq!(after.outcome, Outcome::ExplicitDeny);
        }
    }

    /// Adding an Allow statement never turns an Allow into a deny.
    #[test]
    fn adding_allow_never_denies(
        (session, identity) in set_strategy(),
        req in req_strategy(),
        extra in stmt_strategy(),
    ) {
        let before = Parsed::new(&session, &identity).decide(&context(&req));
        let mut more = identity.clone();
        more.push(vec![MStmt { allow: true, ..extra }]);
        let after = Parsed::new(&session, &more).decide(&context(&req));
        if before.outcome == Outcome::Allow {
            prop_assert_eq!(after.outcome, Outcome::Allow);
        }
    }

    /// Permuting policies, statements, list items and condition values never changes the
    /// decision (nor which statements are reported, as a set).
    #[test]
    fn order_never_matters(
        (session, identity) in set_strategy(),
        req in req_strategy(),
        seed in any::<u64>(),
    ) {
        let before = Parsed::new(&session, &identity).decide(&context(&req));
        // Shuffle statements and list items inside each policy, keep names with their policy.
        let shuffle_policy = |p: &MPolicy, salt: u64| -> MPolicy {
            shuffled(p, seed ^ salt)
                .into_iter()
                .map(|mut s| {
                    s.actions = shuffled(&s.actions, seed.rotate_left(7));
                    s.resources = shuffled(&s.resources, seed.rotate_left(13));
                    s.conds = shuffled(&s.conds, seed.rotate_left(19))
                        .into_iter()
                        .map(|mut c| { c.values = shuffled(&c.values, seed.rotate_left(23)); c })
                        .collect();
                    s
                })
                .collect()
        };
        let order = shuffled(&(0..identity.len()).collect::<Vec<_>>(), seed);
        let permuted: Vec<MPolicy> = order.iter().map(|&i| shuffle_policy(&identity[i], i as u64)).collect();
        let session2 = session.as_ref().map(|s| shuffle_policy(s, 99));
        let mut p2 = Parsed::new(&session2, &permuted);
        // Names follow their policy so matched sets are comparable.
        p2.names = order.iter().map(|i| format!("p{i}")).collect();
        let after = p2.decide(&context(&req));
        prop_assert_eq!(before.outcome, after.outcome);
        prop_assert_eq!(before.policy_type, after.policy_type);
        prop_assert_eq!(&before.denied_resource, &after.denied_resource);
        // Statement indexes change under shuffling; compare which policies contributed.
        let pols = |d: &Decision| { let mut v: Vec<String> = matched_set(d).into_iter().map(|(p, _)| p).collect(); v.dedup(); v };
        prop_assert_eq!(pols(&before), pols(&after));
    }

    /// `Action: "*"` + `Resource: "*"` allows everything it is not explicitly denied.
    #[test]
    fn admin_allows_unless_denied(identity in prop::collection::vec(policy_strategy(), 0..=4), req in req_strategy()) {
        let before = Parsed::new(&None, &identity).decide(&context(&req));
        let admin = MStmt { allow: true, not_action: false, actions: vec!["*"], resources: vec!["*"], conds: vec![] };
        let mut more = identity.clone();
        more.push(vec![admin]);
        let after = Parsed::new(&None, &more).decide(&context(&req));
        let expected = if before.outcome == Outcome::ExplicitDeny { Outcome::ExplicitDeny } else { Outcome::Allow };
        prop_assert_eq!(after.outcome, expected);
    }

    /// Duplicating a statement changes nothing but the reported statement list.
    #[test]
    fn duplicate_statement_is_a_no_op(
        identity in prop::collection::vec(policy_strategy(), 1..=4),
        req in req_strategy(),
        at in any::<prop::sample::Index>(),
    ) {
        let before = Parsed::new(&None, &identity).decide(&context(&req));
        let mut more = identity.clone();
        let i = at.index(more.len());
        let s = more[i][0].clone();
        more[i].push(s);
        let after = Parsed::new(&None, &more).decide(&context(&req));
        prop_assert_eq!(before.outcome, after.outcome);
        prop_assert_eq!(before.policy_type, after.policy_type);
    }

    /// A session policy can only remove permissions.
    #[test]
    fn session_policy_only_narrows(
        session in policy_strategy(),
        identity in prop::collection::vec(policy_strategy(), 0..=4),
        req in req_strategy(),
    ) {
        let without = Parsed::new(&None, &identity).decide(&context(&req));
        let with = Parsed::new(&Some(session), &identity).decide(&context(&req));
        if with.outcome == Outcome::Allow {
            prop_assert_eq!(without.outcome, Outcome::Allow);
        }
    }

    /// The glob matcher agrees with the naive recursive one, metacharacters included.
    #[test]
    fn glob_agrees_with_reference(p in "[ab*?.:/(]{0,8}", t in "[ab*?.:/(]{0,10}") {
        prop_assert_eq!(matching::glob_match(&p, &t), glob_str(&p, &t));
        prop_assert_eq!(
            matching::glob_match_ignore_case(&p.to_uppercase(), &t),
            glob_str(&p.to_lowercase(), &t.to_lowercase())
        );
    }

    /// The validator never panics and only answers with document error codes.
    #[test]
    fn parser_never_panics(text in ".{0,200}") {
        for kind in [PolicyKind::Identity, PolicyKind::Trust, PolicyKind::Session] {
            if let Err(e) = PolicyDocument::parse(&text, kind) {
                prop_assert!(matches!(
                    e.code(),
                    "MalformedPolicyDocument" | "InvalidParameter.PolicyGrammar"
                ));
            }
        }
    }

    /// Structured garbage: random JSON built from policy-ish pieces never panics either.
    #[test]
    fn parser_never_panics_on_policyish_json(v in policyish_json()) {
        let text = v.to_string();
        for kind in [PolicyKind::Identity, PolicyKind::Trust] {
            let _ = PolicyDocument::parse(&text, kind);
        }
    }
}

fn policyish_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(
            &[
                "1",
                "Allow",
                "Deny",
                "*",
                "ecs:*",
                "acs:ecs:*:*:*",
                "10.0.0.0/8",
                "true",
                "2030-01-01T00:00:00Z",
                "x",
                "",
            ][..]
        )
        .prop_map(|s| json!(s)),
    ];
    let keys = &[
        "Version",
        "Statement",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "Principal",
        "Condition",
        "Sid",
        "RAM",
        "StringEquals",
        "Bool",
        "IpAddress",
        "acs:SourceIp",
        "NotResource",
        "DateLessThan",
        "NumericEquals",
    ][..];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(keys), inner), 0..5).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}
