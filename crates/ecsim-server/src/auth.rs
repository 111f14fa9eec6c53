//! Who is calling: the signature scheme is detected (V3 `Authorization: ACS3-…`, else a V1
//! `Signature` parameter), the AccessKey looked up, the signature recomputed over the request
//! as received, the timestamp checked against the window, and the nonce spent.

use crate::state::AppState;
use ecsim_core::clock::parse_time;
use ecsim_core::model::{AccountId, KeyStatus};
use ecsim_store::NonceRecord;
use ecsim_wire::signature::{v1, v3};
use ecsim_wire::{ApiError, Code, Params};

/// The authenticated principal of a request. Handlers cannot run without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: AccountId,
    pub access_key_id: String,
}

/// The parts of a request that signatures cover.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Every header as (lower-case name, value).
    pub headers: &'a [(String, String)],
    /// Query-string parameters only (V3 signs these).
    pub query: &'a Params,
    /// Query ∪ form body (V1 signs these).
    pub params: &'a Params,
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
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

fn active_secret(
    app: &AppState,
    access_key_id: &str,
) -> Result<(AccountId, ecsim_core::model::Secret), ApiError> {
    let key = app
        .store
        .read(|tx| Ok(tx.access_key(access_key_id)?))?
        .ok_or_else(|| ApiError::new(Code::InvalidAccessKeyIdNotFound))?;
    if key.status != KeyStatus::Active {
        return Err(ApiError::new(Code::InvalidAccessKeyIdInactive));
    }
    Ok((key.account_id, key.secret))
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
    if !app.nonces.first_use(access_key_id, nonce, now) {
        return Err(ApiError::new(Code::SignatureNonceUsed));
    }
    // Persisted with the request's own write, or by the flusher for reads.
    app.store.record_nonce(NonceRecord {
        access_key_id: access_key_id.to_string(),
        nonce: nonce.to_string(),
        seen_at: now,
    });
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
    let (account_id, secret) = active_secret(app, access_key_id)?;
    let string_to_sign = v1::string_to_sign(req.method, p);
    if !v1::verify(secret.expose(), &string_to_sign, signature) {
        return Err(ApiError::signature_mismatch(&string_to_sign));
    }
    spend_nonce(app, access_key_id, nonce)?;
    Ok(Caller {
        account_id,
        access_key_id: access_key_id.to_string(),
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
    let (account_id, secret) = active_secret(app, &auth.credential)?;
    let canonical = v3::canonical_request(
        req.method,
        req.query,
        req.headers,
        &auth.signed_headers,
        claimed_hash,
    );
    let string_to_sign = v3::string_to_sign(auth.algorithm, &canonical);
    if !v3::verify(
        auth.algorithm,
        secret.expose(),
        &string_to_sign,
        &auth.signature,
    ) {
        return Err(ApiError::signature_mismatch(&string_to_sign));
    }
    // The signature covers the claimed hash; the body must be the one that was signed.
    if !claimed_hash.eq_ignore_ascii_case(&v3::hash_payload(auth.algorithm, req.body)) {
        return Err(ApiError::signature_mismatch(&string_to_sign)
            .with_message(format!("The x-acs-content-sha256 header does not match the request body. server string to sign is:{string_to_sign}")));
    }
    spend_nonce(app, &auth.credential, nonce)?;
    Ok(Caller {
        account_id,
        access_key_id: auth.credential,
    })
}
