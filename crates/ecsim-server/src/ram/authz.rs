//! Authorization on every call (spec ram-authorization §3): after authentication and region
//! resolution, before the handler. The account's root key is allowed without loading anything;
//! a RAM user is judged by its policies and its groups', a role session by the role's policies
//! narrowed by its session policy. Denied ECS calls answer 403 `Forbidden.RAM`, denied RAM and
//! STS calls 403 `NoPermission`, both with `AccessDeniedDetail` (§4.2).
//!
//! Policy documents are parsed once per distinct text and shared between requests, so a
//! decision costs one store read (the applicable policies' default versions) plus evaluation.

use super::common::ram_arn;
use crate::actions::{Action, RegionRule};
use crate::auth::{Caller, Principal};
use crate::handlers::Reply;
use crate::state::AppState;
use base64::Engine as _;
use ecsim_core::Millis;
use ecsim_core::model::{Region, ResourceType};
use ecsim_ram::condition::keys;
use ecsim_ram::system_policies;
use ecsim_ram::{
    Decision, PolicyDocument, PolicyKind, PolicyRef, PolicySet, RequestContext, ecs_arn, evaluate,
};
use ecsim_store::{AppliedPolicy, PolicyOrigin, PrincipalKind, Tx};
use ecsim_wire::{ApiError, Code, Params};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use time::OffsetDateTime;

/// The name a session policy is reported under.
pub const SESSION_POLICY_NAME: &str = "SessionPolicy";

// ---------------------------------------------------------------------------------------------
// Parsed documents, shared.

/// A parsed policy and whether any of its conditions reads a resource tag (only then are the
/// target resource's tags loaded).
#[derive(Debug)]
pub struct Parsed {
    pub doc: PolicyDocument,
    uses_resource_tags: bool,
}

impl Parsed {
    fn new(doc: PolicyDocument) -> Self {
        let uses_resource_tags = reads_resource_tags(&doc);
        Parsed {
            doc,
            uses_resource_tags,
        }
    }
}

fn reads_resource_tags(doc: &PolicyDocument) -> bool {
    doc.statements()
        .iter()
        .flat_map(|s| s.conditions())
        .any(|c| {
            let key = c.key().to_ascii_lowercase();
            key.starts_with("acs:resourcetag/") || key.starts_with("ecs:tag/")
        })
}

/// Distinct texts seen; a policy's versions never change, so entries never go stale. Bounded:
/// cleared when it grows past this many entries.
const CACHE_LIMIT: usize = 4096;

type Cache = RwLock<HashMap<String, Arc<Parsed>>>;

fn cache(kind: PolicyKind) -> &'static Cache {
    static IDENTITY: OnceLock<Cache> = OnceLock::new();
    static SESSION: OnceLock<Cache> = OnceLock::new();
    let cell = if kind == PolicyKind::Session {
        &SESSION
    } else {
        &IDENTITY
    };
    cell.get_or_init(Default::default)
}

/// The parsed form of a stored (hence already validated) document.
fn parsed(kind: PolicyKind, text: &str) -> Option<Arc<Parsed>> {
    let cache = cache(kind);
    if let Some(hit) = cache
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(text)
        .cloned()
    {
        return Some(hit);
    }
    let doc = match PolicyDocument::parse(text, kind) {
        Ok(doc) => Arc::new(Parsed::new(doc)),
        Err(err) => {
            tracing::error!(error = %err, "a stored policy document does not parse; ignored");
            return None;
        }
    };
    let mut map = cache.write().unwrap_or_else(|p| p.into_inner());
    if map.len() >= CACHE_LIMIT {
        map.clear();
    }
    map.insert(text.to_string(), Arc::clone(&doc));
    Some(doc)
}

// ---------------------------------------------------------------------------------------------
// The policies that apply to a caller.

/// The identity policies of one principal, parsed.
pub type Identity = Arc<Vec<LoadedPolicy>>;
type IdentityCache = RwLock<HashMap<String, (i64, Identity)>>;

/// A principal's policies as last read, with the store's policy generation at that time: still
/// valid while the generation has not moved (it moves in the transaction of every change, so
/// every node sharing the database sees changes at once).
fn identity_cache() -> &'static IdentityCache {
    static CACHE: OnceLock<IdentityCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The parsed policies of a principal (`key` names it, e.g. `u:<UserId>`), read with `read`
/// unless the copy kept from an earlier request is still current.
pub fn identity_policies(
    tx: &mut dyn Tx,
    key: &str,
    read: impl FnOnce(&mut dyn Tx) -> ecsim_store::StoreResult<Vec<AppliedPolicy>>,
) -> ecsim_store::StoreResult<Identity> {
    let generation = tx.policy_generation()?;
    let cache = identity_cache();
    if let Some((at, identity)) = cache.read().unwrap_or_else(|p| p.into_inner()).get(key)
        && *at == generation
    {
        return Ok(Arc::clone(identity));
    }
    let identity = Arc::new(parse_identity(&read(tx)?));
    let mut map = cache.write().unwrap_or_else(|p| p.into_inner());
    if map.len() >= CACHE_LIMIT {
        map.clear();
    }
    map.insert(key.to_string(), (generation, Arc::clone(&identity)));
    Ok(identity)
}

#[derive(Debug)]
enum Doc {
    System(&'static PolicyDocument),
    Custom(Arc<Parsed>),
}

/// One applicable policy, parsed.
#[derive(Debug)]
pub struct LoadedPolicy {
    pub origin: PolicyOrigin,
    pub name: String,
    pub attached_to: PrincipalKind,
    doc: Doc,
}

impl LoadedPolicy {
    fn document(&self) -> &PolicyDocument {
        match &self.doc {
            Doc::System(d) => d,
            Doc::Custom(p) => &p.doc,
        }
    }

    fn reads_tags(&self) -> bool {
        match &self.doc {
            Doc::System(d) => reads_resource_tags(d),
            Doc::Custom(p) => p.uses_resource_tags,
        }
    }
}

/// Everything evaluated for one caller.
pub struct Loaded {
    pub identity: Identity,
    pub session: Option<Arc<Parsed>>,
}

impl Loaded {
    fn reads_tags(&self) -> bool {
        self.identity.iter().any(LoadedPolicy::reads_tags)
            || self.session.as_ref().is_some_and(|s| s.uses_resource_tags)
    }

    /// Runs `f` over the policy set of this caller.
    pub fn with_set<R>(&self, f: impl FnOnce(&PolicySet<'_>) -> R) -> R {
        let refs: Vec<PolicyRef<'_>> = self
            .identity
            .iter()
            .map(|p| PolicyRef::new(&p.name, p.document()))
            .collect();
        let set = PolicySet::identity(&refs);
        match &self.session {
            Some(s) => f(&set.with_session(PolicyRef::new(SESSION_POLICY_NAME, &s.doc))),
            None => f(&set),
        }
    }

    fn find(&self, name: &str) -> Option<&LoadedPolicy> {
        self.identity.iter().find(|p| p.name == name)
    }
}

fn parse_identity(applied: &[AppliedPolicy]) -> Vec<LoadedPolicy> {
    applied
        .iter()
        .filter_map(|a| {
            let doc = match a.origin {
                PolicyOrigin::System => Doc::System(system_policies::find(&a.name)?.parsed()),
                PolicyOrigin::Custom => {
                    Doc::Custom(parsed(PolicyKind::Identity, a.document.as_deref()?)?)
                }
            };
            Some(LoadedPolicy {
                origin: a.origin,
                name: a.name.clone(),
                attached_to: a.attached_to,
                doc,
            })
        })
        .collect()
}

fn loaded_from(identity: Identity, session: Option<&str>) -> Loaded {
    Loaded {
        identity,
        session: session.and_then(|text| parsed(PolicyKind::Session, text)),
    }
}

fn session_policy(caller: &Caller) -> Option<&str> {
    match &caller.principal {
        Principal::RoleSession { session_policy, .. } => session_policy.as_deref(),
        _ => None,
    }
}

/// The caller's policies as read with its credential, if they were.
fn preloaded(caller: &Caller) -> Option<Loaded> {
    match (&caller.principal, &caller.policies) {
        (Principal::Root, _) => Some(loaded_from(Arc::default(), None)),
        (_, Some(identity)) => Some(loaded_from(Arc::clone(identity), session_policy(caller))),
        (_, None) => None,
    }
}

/// Loads the caller's policies inside a transaction (empty for root).
pub fn load(tx: &mut dyn Tx, caller: &Caller) -> Result<Loaded, ApiError> {
    if let Some(loaded) = preloaded(caller) {
        return Ok(loaded);
    }
    let applied = match &caller.principal {
        Principal::Root => Vec::new(),
        Principal::User { id, .. } => tx.policies_for_user(id)?,
        Principal::RoleSession { role_id, .. } => tx.policies_for_role(role_id)?,
    };
    Ok(loaded_from(
        Arc::new(parse_identity(&applied)),
        session_policy(caller),
    ))
}

/// [`load`], reading the store only when the credential lookup did not already.
pub fn load_for(app: &AppState, caller: &Caller) -> Result<Loaded, ApiError> {
    match preloaded(caller) {
        Some(loaded) => Ok(loaded),
        None => app.store.read(|tx| load(tx, caller)),
    }
}

// ---------------------------------------------------------------------------------------------
// Request contexts.

fn current_time(now: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(now) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The global condition keys of a request (spec §1.5): `acs:CurrentTime`, `acs:SecureTransport`
/// (ecsim serves plain HTTP), `acs:SourceIp` (the TCP peer, when known), `acs:AccessId`,
/// `acs:PrincipalARN`. `acs:MFAPresent` stays absent: API calls carry no MFA (§1.5 [obs]).
pub fn base_context(now: Millis, caller: &Caller, action: &str) -> RequestContext {
    let ctx = RequestContext::new(action)
        .with_current_time(current_time(now))
        .with_secure_transport(false)
        .with_access_id(caller.access_key_id.clone())
        .with_principal_arn(caller.principal_arn());
    match caller.source_ip {
        Some(ip) => ctx.with_source_ip(ip),
        None => ctx,
    }
}

/// Expands a resource template: `{Param}` takes the parameter's value, or each value of the list
/// `Param.N`; a parameter that is absent stands as the literal `*` (fail closed: only policies
/// granting every such resource match it, and the handler then reports the missing parameter).
fn expand(template: &str, params: &Params) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        let literal = &rest[..open];
        let name = &rest[open + 1..close];
        let mut values: Vec<String> = match params.get_nonempty(name) {
            Some(v) => vec![v.to_string()],
            None => params
                .list(name)
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect(),
        };
        if values.is_empty() {
            values.push("*".to_string());
        }
        if name == "ResourceType" {
            values = values.iter().map(|v| v.to_ascii_lowercase()).collect();
        }
        out = out
            .iter()
            .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{literal}{v}")))
            .collect();
        rest = &rest[close + 1..];
    }
    out.into_iter().map(|p| format!("{p}{rest}")).collect()
}

/// Resource types an operation authorizes only when the request names one (spec §1.6 "opt",
/// §3.6, open question 5); the action table holds the required ones.
const OPTIONAL_RESOURCES: &[(&str, &[(&str, &str)])] = &[
    (
        "CreateImage",
        &[
            ("InstanceId", "instance/{InstanceId}"),
            ("SnapshotId", "snapshot/{SnapshotId}"),
        ],
    ),
    ("CreateSnapshot", &[("DiskId", "disk/{DiskId}")]),
];

/// The relative resource ids an ECS call is authorized against.
fn ecs_resources(action: &Action, params: &Params) -> Vec<String> {
    // DescribeImages with ImageId=a,b authorizes each image (spec §3.6, open question 6).
    if action.name == "DescribeImages"
        && let Some(ids) = params.get_nonempty("ImageId")
    {
        let each: Vec<String> = ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| format!("image/{id}"))
            .collect();
        if !each.is_empty() {
            return each;
        }
    }
    let mut out = if action.resource == "*" {
        vec!["*".to_string()]
    } else {
        expand(action.resource, params)
    };
    for (name, optional) in OPTIONAL_RESOURCES {
        if *name == action.name {
            for (param, template) in *optional {
                if params.get_nonempty(param).is_some() {
                    out.extend(expand(template, params));
                }
            }
        }
    }
    out
}

/// The region of an operation that names its resource rather than a region (StartInstance,
/// DeleteSnapshot, CreateSnapshot by DiskId …): the resource's own; `*` when it is unknown.
fn resource_region(tx: &mut dyn Tx, action: &Action, params: &Params) -> Result<String, ApiError> {
    if action.region != RegionRule::FromResource {
        return Ok("*".into());
    }
    let found = if let Some(id) = params.get_nonempty("InstanceId") {
        tx.instance(id)?.map(|i| i.region_id)
    } else if let Some(id) = params.get_nonempty("SnapshotId") {
        tx.snapshot(id)?.map(|s| s.region_id)
    } else if let Some(id) = params.get_nonempty("DiskId") {
        tx.disk(id)?.map(|d| d.region_id)
    } else {
        None
    };
    Ok(found.unwrap_or_else(|| "*".into()))
}

fn tagged_type(relative: &str) -> Option<(ResourceType, &str)> {
    let (kind, id) = relative.split_once('/')?;
    if id == "*" || id.is_empty() {
        return None;
    }
    Some((ResourceType::parse(kind)?, id))
}

// ---------------------------------------------------------------------------------------------
// Denials.

fn principal_fields(caller: &Caller) -> (&'static str, String) {
    match &caller.principal {
        Principal::Root => ("Account", caller.account_id.to_string()),
        Principal::User { id, .. } => ("SubUser", id.clone()),
        Principal::RoleSession {
            role_name,
            session_name,
            ..
        } => ("AssumedRoleUser", format!("{role_name}:{session_name}")),
    }
}

fn attached_entity(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "RamUser",
        PrincipalKind::Group => "RamGroup",
        PrincipalKind::Role => "RamRole",
    }
}

/// The trace `ram:DecodeDiagnosticMessage` returns (spec §4.2), base64 of its JSON: readable by
/// anyone, which is the point of an emulator.
fn diagnostic(
    caller: &Caller,
    ctx: &RequestContext,
    decision: &Decision,
    loaded: Option<&Loaded>,
) -> Value {
    let (ptype, display) = principal_fields(caller);
    let matched: Vec<Value> = decision
        .matched
        .iter()
        .map(|m| {
            let policy = loaded.and_then(|l| l.find(&m.policy));
            let (kind, version, entity) = match policy {
                Some(p) => (p.origin.as_str(), "default", attached_entity(p.attached_to)),
                None if m.policy == SESSION_POLICY_NAME => ("Session", "", "AssumedRoleUser"),
                None => ("Trust", "", "RamRole"),
            };
            json!({
                "Effect": m.effect.as_str(),
                "PolicyIdentifier": m.policy,
                "PolicyType": kind,
                "PolicyVersion": version,
                "StatementIndex": m.statement_index,
                "AttachedEntityType": entity,
                "AttachedScope": "Account",
            })
        })
        .collect();
    let conditions: Vec<Value> = [
        keys::SOURCE_IP,
        keys::CURRENT_TIME,
        keys::SECURE_TRANSPORT,
        keys::ACCESS_ID,
        keys::PRINCIPAL_ARN,
    ]
    .iter()
    .filter_map(|k| {
        ctx.key_values(k)
            .map(|v| json!({"ConditionKey": k, "ConditionValues": v}))
    })
    .collect();
    json!({
        "ExplicitDeny": decision.outcome == ecsim_ram::Outcome::ExplicitDeny,
        "NoPermissionPolicyType": decision.policy_type.map_or("AccountLevelIdentityBasedPolicy", |t| t.as_str()),
        "AuthAction": ctx.action(),
        "AuthResource": decision.denied_resource.clone().unwrap_or_default(),
        "AuthPrincipal": {
            "AuthPrincipalType": ptype,
            "AuthPrincipalOwnerId": caller.account_id.to_string(),
            "AuthPrincipalDisplayName": display,
        },
        "AuthConditions": conditions,
        "MatchedPolicies": matched,
    })
}

/// The error of a denial, with `AccessDeniedDetail` (spec §4.2).
pub fn denied(
    code: Code,
    caller: &Caller,
    ctx: &RequestContext,
    decision: &Decision,
    loaded: Option<&Loaded>,
) -> ApiError {
    let (ptype, display) = principal_fields(caller);
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(&diagnostic(caller, ctx, decision, loaded)).unwrap_or_default());
    tracing::debug!(action = ctx.action(), principal = %caller.arn(), outcome = %decision.outcome, "RAM denied the request");
    ApiError::new(code).with_access_denied_detail(json!({
        "AuthAction": ctx.action(),
        "AuthPrincipalType": ptype,
        "AuthPrincipalOwnerId": caller.account_id.to_string(),
        "AuthPrincipalDisplayName": display,
        "NoPermissionType": decision.no_permission_type().unwrap_or("ImplicitDeny"),
        "PolicyType": decision.policy_type.map_or("AccountLevelIdentityBasedPolicy", |t| t.as_str()),
        "EncodedDiagnosticMessage": encoded,
    }))
}

// ---------------------------------------------------------------------------------------------
// ECS calls.

/// What authorization decided for an ECS call.
pub enum EcsVerdict {
    /// Run the handler.
    Proceed,
    /// Answer this instead (DescribeInstances without permission: an empty list).
    Answer(Reply),
}

/// DescribeInstances for a RAM user without permission: an empty list, not an error
/// (spec ecs-image-api §4.3).
fn empty_instances(params: &Params) -> Reply {
    let number = params.int("PageNumber").ok().flatten().unwrap_or(1);
    let size = params.int("PageSize").ok().flatten().unwrap_or(10);
    super::common::object(json!({
        "TotalCount": 0,
        "PageNumber": number,
        "PageSize": size,
        "NextToken": "",
        "Instances": { "Instance": [] },
    }))
}

/// Authorizes an ECS call: `ecs:{Action}` on the ARNs of the action table's resource template,
/// `acs:ecs:{region}:{account}:{relative}` (`*` for All-Resources actions, spec §3.4–3.6).
pub fn authorize_ecs(
    app: &AppState,
    caller: &Caller,
    action: &Action,
    params: &Params,
    region: Option<&Region>,
) -> Result<EcsVerdict, ApiError> {
    if caller.is_root() {
        return Ok(EcsVerdict::Proceed);
    }
    let now = app.clock.now();
    let account = caller.account_id.to_string();
    let loaded = load_for(app, caller)?;
    let reads_tags = loaded.reads_tags();
    let relatives = ecs_resources(action, params);
    let needs_store = (region.is_none() && action.region == RegionRule::FromResource)
        || (reads_tags && relatives.iter().any(|r| tagged_type(r).is_some()));
    let build = |tx: Option<&mut dyn Tx>| -> Result<RequestContext, ApiError> {
        let mut tx = tx;
        let region = match (region, tx.as_deref_mut()) {
            (Some(r), _) => r.id.clone(),
            (None, Some(tx)) => resource_region(tx, action, params)?,
            (None, None) => "*".to_string(),
        };
        let mut ctx = base_context(now, caller, action.ram_action);
        for relative in &relatives {
            if relative == "*" {
                ctx = ctx.with_resource("*");
                continue;
            }
            let arn = ecs_arn(&region, &account, relative);
            match (
                tagged_type(relative).filter(|_| reads_tags),
                tx.as_deref_mut(),
            ) {
                (Some((kind, id)), Some(tx)) => {
                    let tags = tx.tags(kind, id)?;
                    ctx = ctx.with_tagged_resource(arn, tags.into_iter().map(|t| (t.key, t.value)));
                }
                _ => ctx = ctx.with_resource(arn),
            }
        }
        Ok(ctx)
    };
    let ctx = if needs_store {
        app.store.read(|tx| build(Some(tx)))?
    } else {
        build(None)?
    };
    let decision = loaded.with_set(|set| evaluate(set, &ctx));
    if decision.is_allowed() {
        return Ok(EcsVerdict::Proceed);
    }
    if action.name == "DescribeInstances" {
        return Ok(EcsVerdict::Answer(empty_instances(params)));
    }
    Err(denied(
        Code::ForbiddenRam,
        caller,
        &ctx,
        &decision,
        Some(&loaded),
    ))
}

// ---------------------------------------------------------------------------------------------
// RAM and STS calls.

/// The RAM ARNs of a RAM operation's resource templates: `acs:ram::{account}:{relative}`, with
/// `system` as the account of system policies (spec §6). An absent `UserName` is the calling
/// user itself (CreateAccessKey and friends).
pub fn ram_resources(templates: &[&str], caller: &Caller, params: &Params) -> Vec<String> {
    let mut out = Vec::new();
    for template in templates {
        if *template == "*" {
            out.push("*".to_string());
            continue;
        }
        let mut filled = params.clone();
        if template.contains("{UserName}")
            && params.get_nonempty("UserName").is_none()
            && let Principal::User { name, .. } = &caller.principal
        {
            filled = Params::from_pairs(
                params
                    .entries()
                    .iter()
                    .cloned()
                    .chain([("UserName".to_string(), name.clone())]),
            );
        }
        let account =
            if template.starts_with("policy/") && params.get("PolicyType") == Some("System") {
                "system".to_string()
            } else {
                caller.account_id.to_string()
            };
        out.extend(
            expand(template, &filled)
                .into_iter()
                .map(|relative| ram_arn(&account, &relative)),
        );
    }
    out
}

/// Authorizes a RAM or STS operation whose resources come from templates.
pub fn authorize_ram(
    app: &AppState,
    caller: &Caller,
    ram_action: &str,
    templates: &[&str],
    params: &Params,
    deny_code: Code,
) -> Result<(), ApiError> {
    if caller.is_root() {
        return Ok(());
    }
    let loaded = load_for(app, caller)?;
    let mut ctx = base_context(app.clock.now(), caller, ram_action);
    for arn in ram_resources(templates, caller, params) {
        ctx = ctx.with_resource(arn);
    }
    let decision = loaded.with_set(|set| evaluate(set, &ctx));
    if decision.is_allowed() {
        Ok(())
    } else {
        Err(denied(deny_code, caller, &ctx, &decision, Some(&loaded)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn templates_expand_scalars_lists_and_absent_parameters() {
        assert_eq!(
            expand("image/{ImageId}", &params(&[("ImageId", "m-1")])),
            ["image/m-1"]
        );
        assert_eq!(expand("image/{ImageId}", &params(&[])), ["image/*"]);
        assert_eq!(
            expand(
                "{ResourceType}/{ResourceId}",
                &params(&[
                    ("ResourceType", "Image"),
                    ("ResourceId.1", "m-1"),
                    ("ResourceId.2", "m-2")
                ])
            ),
            ["image/m-1", "image/m-2"]
        );
        assert_eq!(
            expand(
                "instance/{InstanceId}",
                &params(&[("InstanceId.1", "i-1"), ("InstanceId.2", "i-2")])
            ),
            ["instance/i-1", "instance/i-2"]
        );
    }

    #[test]
    fn describe_images_authorizes_each_listed_image() {
        let action = crate::actions::find("DescribeImages").expect("in the table");
        assert_eq!(ecs_resources(action, &params(&[])), ["image/*"]);
        assert_eq!(
            ecs_resources(action, &params(&[("ImageId", "m-1, m-2")])),
            ["image/m-1", "image/m-2"]
        );
        let create = crate::actions::find("CreateImage").expect("in the table");
        assert_eq!(
            ecs_resources(create, &params(&[("InstanceId", "i-1")])),
            ["image/*", "instance/i-1"]
        );
        let all = crate::actions::find("DescribeRegions").expect("in the table");
        assert_eq!(ecs_resources(all, &params(&[])), ["*"]);
    }

    #[test]
    fn every_ecs_action_yields_at_least_one_resource() {
        for action in crate::actions::ACTIONS {
            assert!(
                !ecs_resources(action, &params(&[])).is_empty(),
                "{} has no resource to authorize",
                action.name
            );
            assert!(action.ram_action.starts_with("ecs:"), "{}", action.name);
        }
    }
}
