//! Who is calling: the signature scheme is detected (V3 `Authorization: ACS3-…`, else a V1
//! `Signature` parameter), the AccessKey looked up — an account's root key, a RAM user's key, or
//! an STS key with its SecurityToken — the signature recomputed over the request as received,
//! the timestamp checked against the window, and the nonce spent.

use crate::ram::authz::{Identity, identity_policies};
use crate::state::AppState;
use ecsim_core::clock::parse_time;
use ecsim_core::model::{AccountId, KeyStatus, Secret};
use ecsim_store::NonceRecord;
use ecsim_wire::signature::{v1, v3};
use ecsim_wire::{ApiError, Code, Params};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use subtle::ConstantTimeEq;

/// Active account root keys seen so far, so the common call (the account owner's) reads no
/// AccessKey from the database. Sound because a root key never changes once written: no code
/// path updates or deletes a row of `access_keys` (status is fixed at creation; disabling and
/// deleting exist only for RAM users' keys, which are not cached and so are refused on the very
/// next request, on every node). Whoever adds a way to change a root key must clear this cache
/// on that path, and, with PostgreSQL, on every node. Not-found and inactive answers are never
/// cached: a key created later, even by another process, is found at once.
#[derive(Default)]
pub struct RootKeyCache {
    keys: RwLock<HashMap<String, (AccountId, Secret)>>,
}

/// Enough for every account of a test or benchmark; past it, lookups go to the database.
const ROOT_KEY_CACHE_MAX: usize = 10_000;

impl RootKeyCache {
    fn get(&self, access_key_id: &str) -> Option<(AccountId, Secret)> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key_id)
            .cloned()
    }

    fn remember(&self, access_key_id: &str, account_id: AccountId, secret: &Secret) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.len() < ROOT_KEY_CACHE_MAX {
            keys.insert(access_key_id.to_string(), (account_id, secret.clone()));
        }
    }
}

/// The identity behind an AccessKey (spec ram-authorization §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account's own key: not subject to policies.
    Root,
    /// A RAM user; its policies and its groups' decide.
    User { id: String, name: String },
    /// An STS session of a role; the role's policies decide, narrowed by the session policy.
    RoleSession {
        role_id: String,
        role_name: String,
        session_name: String,
        session_policy: Option<String>,
    },
}

/// The authenticated principal of a request. Handlers cannot run without one.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: AccountId,
    pub access_key_id: String,
    pub principal: Principal,
    /// The TCP peer (`acs:SourceIp`), when the listener knows it.
    pub source_ip: Option<IpAddr>,
    /// The policies of a RAM user (its own and its groups') or of a role session's role, read
    /// together with the credential so authorization needs no second read; `None` for root.
    pub policies: Option<Identity>,
}

impl Caller {
    pub fn is_root(&self) -> bool {
        self.principal == Principal::Root
    }

    /// The caller's ARN: `acs:ram::<uid>:root`, `…:user/<name>`, or for a role session
    /// `…:role/<RoleName>/<RoleSessionName>` (spec §5.1).
    pub fn arn(&self) -> String {
        let uid = self.account_id;
        match &self.principal {
            Principal::Root => format!("acs:ram::{uid}:root"),
            Principal::User { name, .. } => format!("acs:ram::{uid}:user/{name}"),
            Principal::RoleSession {
                role_name,
                session_name,
                ..
            } => format!("acs:ram::{uid}:role/{role_name}/{session_name}"),
        }
    }

    /// `acs:PrincipalARN`: the user's ARN, or for a role session the role's ARN with the role name
    /// lower-cased and no session name (open question 12).
    pub fn principal_arn(&self) -> String {
        match &self.principal {
            Principal::RoleSession { role_name, .. } => format!(
                "acs:ram::{}:role/{}",
                self.account_id,
                role_name.to_ascii_lowercase()
            ),
            _ => self.arn(),
        }
    }
}

/// The parts of a request that signatures cover.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Every header as (lower-case name, value).
    pub headers: Vec<(&'a str, Cow<'a, str>)>,
    /// Query-string parameters only (V3 signs these).
    pub query: &'a Params,
    /// Query ∪ form body (V1 signs these).
    pub params: &'a Params,
    pub body: &'a [u8],
    /// The TCP peer, when known.
    pub source_ip: Option<IpAddr>,
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// Headers both V3 SDK generations always sign; a signature that leaves one out could be
/// replayed with it changed.
const REQUIRED_SIGNED_HEADERS: &[&str] = &[
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
];

pub fn authenticate(app: &AppState, req: &SignedRequest<'_>) -> Result<Caller, ApiError> {
    match req.header("authorization") {
        Some(value) if value.trim_start().starts_with("ACS3-") => authenticate_v3(app, req, value),
        _ if req.params.get("Signature").is_some() => authenticate_v1(app, req),
        _ if req.params.get("SignatureType") == Some("BEARERTOKEN")
            || req.header("x-acs-bearer-token").is_some() =>
        {
            Err(ApiError::new(Code::IncompleteSignature)
                .with_message("Bearer token authentication is not supported by this endpoint."))
        }
        _ => Err(ApiError::new(Code::IncompleteSignature)
            .with_message("The request is not signed: neither an ACS3 Authorization header nor a Signature parameter was found.")),
    }
}

/// What an AccessKey ID resolves to: whose it is and the secret that signs with it.
struct Credential {
    account_id: AccountId,
    secret: Secret,
    principal: Principal,
    policies: Option<Identity>,
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Looks the key up: root keys first (so the account owner's calls cost one lookup), then RAM
/// users' keys; `STS.` keys are sessions and need their SecurityToken (spec §4.1, §5.2).
fn credential(
    app: &AppState,
    access_key_id: &str,
    security_token: Option<&str>,
) -> Result<Credential, ApiError> {
    if let Some((account_id, secret)) = app.root_keys.get(access_key_id) {
        return Ok(Credential {
            account_id,
            secret,
            principal: Principal::Root,
            policies: None,
        });
    }
    let now = app.clock.now();
    app.store.read(|tx| {
        if access_key_id.starts_with("STS.") {
            let session = tx
                .sts_session(access_key_id)?
                .ok_or_else(|| ApiError::new(Code::InvalidAccessKeyIdNotFound))?;
            let token = security_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ApiError::new(Code::MissingSecurityToken))?;
            if !constant_time_eq(token, &session.security_token) {
                return Err(match tx.sts_key_of_token(token)? {
                    Some(_) => ApiError::new(Code::InvalidSecurityTokenMismatch),
                    None => ApiError::new(Code::InvalidSecurityTokenMalformed),
                });
            }
            if now >= session.expires_at {
                return Err(ApiError::new(Code::InvalidSecurityTokenExpired));
            }
            let role_id = session.role_id.clone();
            let policies = identity_policies(tx, &format!("r:{role_id}"), |tx| {
                tx.policies_for_role(&role_id)
            })?;
            return Ok(Credential {
                account_id: session.account_id,
                secret: session.secret,
                policies: Some(policies),
                principal: Principal::RoleSession {
                    role_id: session.role_id,
                    role_name: session.role_name,
                    session_name: session.session_name,
                    session_policy: session.session_policy,
                },
            });
        }
        if let Some(key) = tx.access_key(access_key_id)? {
            if key.status != KeyStatus::Active {
                return Err(ApiError::new(Code::InvalidAccessKeyIdInactive));
            }
            app.root_keys
                .remember(access_key_id, key.account_id, &key.secret);
            return Ok(Credential {
                account_id: key.account_id,
                secret: key.secret,
                principal: Principal::Root,
                policies: None,
            });
        }
        let key = tx
            .user_access_key(access_key_id)?
            .ok_or_else(|| ApiError::new(Code::InvalidAccessKeyIdNotFound))?;
        if key.status != KeyStatus::Active {
            return Err(ApiError::new(Code::InvalidAccessKeyIdInactive));
        }
        let user = tx
            .ram_user_by_id(&key.user_id)?
            .ok_or_else(|| ApiError::new(Code::InvalidAccessKeyIdNotFound))?;
        let policies = identity_policies(tx, &format!("u:{}", user.id), |tx| {
            tx.policies_for_user(&user.id)
        })?;
        Ok(Credential {
            account_id: key.account_id,
            secret: key.secret,
            policies: Some(policies),
            principal: Principal::User {
                id: user.id,
                name: user.name,
            },
        })
    })
}

fn check_timestamp(app: &AppState, text: &str) -> Result<(), ApiError> {
    let at = parse_time(text).ok_or_else(|| ApiError::new(Code::InvalidTimeStampFormat))?;
    if (app.clock.now() - at).abs() > app.settings.timestamp_window_ms {
        return Err(ApiError::new(Code::InvalidTimeStampExpired));
    }
    Ok(())
}

fn spend_nonce(app: &AppState, access_key_id: &str, nonce: &str) -> Result<(), ApiError> {
    let now = app.clock.now();
    // Before `first_use`: see `NonceCache::is_loaded`.
    let earlier_runs_loaded = app.nonces.is_loaded();
    if !app.nonces.first_use(access_key_id, nonce, now) {
        return Err(ApiError::new(Code::SignatureNonceUsed));
    }
    let record = NonceRecord {
        access_key_id: access_key_id.to_string(),
        nonce: nonce.to_string(),
        seen_at: now,
    };
    // Other nodes share the database: claim the nonce there before going on, so a replay
    // through any node is refused.
    if app.store.is_shared() {
        if !app.store.claim_nonce(&record)? {
            return Err(ApiError::new(Code::SignatureNonceUsed));
        }
        return Ok(());
    }
    // Start-up has not finished loading earlier runs' nonces: ask the database.
    if !earlier_runs_loaded
        && app
            .store
            .nonce_recorded(access_key_id, nonce, now - app.nonces.retention_ms())?
    {
        return Err(ApiError::new(Code::SignatureNonceUsed));
    }
    // Persisted with the request's own write, or by the flusher for reads.
    app.store.record_nonce(record);
    Ok(())
}

fn authenticate_v1(app: &AppState, req: &SignedRequest<'_>) -> Result<Caller, ApiError> {
    let p = req.params;
    let access_key_id = p
        .get_nonempty("AccessKeyId")
        .ok_or_else(|| ApiError::missing("AccessKeyId"))?;
    let signature = p.get("Signature").unwrap_or_default();
    let timestamp = p
        .get_nonempty("Timestamp")
        .ok_or_else(|| ApiError::missing("Timestamp"))?;
    let nonce = p
        .get_nonempty("SignatureNonce")
        .ok_or_else(|| ApiError::missing("SignatureNonce"))?;
    if let Some(method) = p.get("SignatureMethod").filter(|m| *m != "HMAC-SHA1") {
        return Err(
            ApiError::new(Code::IncompleteSignature).with_message(format!(
                "SignatureMethod {method} is not supported; use HMAC-SHA1."
            )),
        );
    }
    if let Some(version) = p.get("SignatureVersion").filter(|v| *v != "1.0") {
        return Err(
            ApiError::new(Code::IncompleteSignature).with_message(format!(
                "SignatureVersion {version} is not supported; use 1.0."
            )),
        );
    }
    check_timestamp(app, timestamp)?;
    let cred = credential(app, access_key_id, p.get("SecurityToken"))?;
    let string_to_sign = v1::string_to_sign(req.method, p);
    if !v1::verify(cred.secret.expose(), &string_to_sign, signature) {
        return Err(ApiError::signature_mismatch(&string_to_sign));
    }
    spend_nonce(app, access_key_id, nonce)?;
    Ok(Caller {
        account_id: cred.account_id,
        access_key_id: access_key_id.to_string(),
        principal: cred.principal,
        source_ip: req.source_ip,
        policies: cred.policies,
    })
}

fn authenticate_v3(
    app: &AppState,
    req: &SignedRequest<'_>,
    header: &str,
) -> Result<Caller, ApiError> {
    let auth = v3::parse_authorization(header)?;
    if auth.algorithm == v3::Algorithm::RsaSha256 {
        return Err(ApiError::new(Code::IncompleteSignature).with_message(
            "ACS3-RSA-SHA256 is not supported; sign with ACS3-HMAC-SHA256 or ACS3-HMAC-SM3.",
        ));
    }
    if let Some(missing) = REQUIRED_SIGNED_HEADERS
        .iter()
        .find(|h| !auth.signed_headers.iter().any(|s| s == *h))
    {
        return Err(ApiError::new(Code::IncompleteSignature)
            .with_message(format!("The header {missing} must be signed.")));
    }
    let unsent = |name: &str| {
        ApiError::new(Code::IncompleteSignature)
            .with_message(format!("The signed header {name} is missing."))
    };
    let date = req
        .header("x-acs-date")
        .ok_or_else(|| unsent("x-acs-date"))?;
    let nonce = req
        .header("x-acs-signature-nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unsent("x-acs-signature-nonce"))?;
    let claimed_hash = req.header("x-acs-content-sha256").unwrap_or_default();
    check_timestamp(app, date)?;
    // STS credentials (wire-protocol §2.4): the token travels in x-acs-security-token, and the
    // SDKs repeat the key id in x-acs-accesskey-id, which must then name the signing key.
    if let Some(id) = req.header("x-acs-accesskey-id")
        && !id.is_empty()
        && id != auth.credential
    {
        return Err(ApiError::new(Code::IncompleteSignature).with_message(
            "The x-acs-accesskey-id header does not name the key in the Authorization header.",
        ));
    }
    let cred = credential(app, auth.credential, req.header("x-acs-security-token"))?;
    let canonical = v3::canonical_request(
        req.method,
        req.query,
        &req.headers,
        &auth.signed_headers,
        claimed_hash,
    );
    let string_to_sign = v3::string_to_sign(auth.algorithm, &canonical);
    if !v3::verify(
        auth.algorithm,
        cred.secret.expose(),
        &string_to_sign,
        auth.signature,
    ) {
        return Err(ApiError::signature_mismatch(&string_to_sign));
    }
    // The signature covers the claimed hash; the body must be the one that was signed.
    if !v3::payload_matches(auth.algorithm, req.body, claimed_hash) {
        return Err(ApiError::signature_mismatch(&string_to_sign)
            .with_message(format!("The x-acs-content-sha256 header does not match the request body. server string to sign is:{string_to_sign}")));
    }
    spend_nonce(app, auth.credential, nonce)?;
    Ok(Caller {
        account_id: cred.account_id,
        access_key_id: auth.credential.to_string(),
        principal: cred.principal,
        source_ip: req.source_ip,
        policies: cred.policies,
    })
}
