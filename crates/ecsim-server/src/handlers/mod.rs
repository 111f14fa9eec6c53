//! One module per resource family. A handler reads typed parameters, runs one store
//! transaction that applies the domain rule and writes, and returns the body's fields.

pub mod images;
pub mod instances;
pub mod regions;
pub mod sharing;
pub mod snapshots;
pub mod tags;
pub mod tasks;

use crate::auth::Caller;
use crate::state::AppState;
use ecsim_core::Millis;
use ecsim_core::model::Region;
use ecsim_store::{IdempotentRecord, Tx};
use ecsim_wire::render::Body;
use ecsim_wire::{ApiError, Code, Params};
use serde_json::{Map, Value};

/// The fields of a success body (the renderer adds `RequestId`).
pub type Reply = Map<String, Value>;

/// A handler's answer as the renderer takes it: a [`Reply`], or a typed body that serializes
/// itself straight into the response (DescribeImages' `present::ImagesPage`).
pub type Answer = Box<dyn Body>;

pub fn answer(body: impl Body + 'static) -> Answer {
    Box::new(body)
}

pub struct Ctx<'a> {
    pub app: &'a AppState,
    pub caller: &'a Caller,
    pub params: &'a Params,
    pub action: &'static str,
    /// The validated `RegionId`, for operations that take one.
    pub region: Option<&'a Region>,
    pub now: Millis,
}

impl Ctx<'_> {
    /// The request's region; operations whose table entry requires it always have one.
    pub fn region_id(&self) -> &str {
        self.region.map_or("", |r| r.id.as_str())
    }

    pub fn account(&self) -> ecsim_core::model::AccountId {
        self.caller.account_id
    }

    /// When a timed creation started now will complete.
    pub fn ready_at(&self) -> Millis {
        self.now + self.app.settings.creation_time_ms.max(0)
    }
}

/// Parameters that identify or sign a request rather than describe the operation; a retry
/// with the same ClientToken may change all of them.
const NOT_PART_OF_THE_OPERATION: &[&str] = &[
    "AccessKeyId",
    "Action",
    "ClientToken",
    "Format",
    "SecurityToken",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureType",
    "SignatureVersion",
    "Timestamp",
    "Version",
    "OwnerId",
    "OwnerAccount",
    "ResourceOwnerId",
    "ResourceOwnerAccount",
];

fn fingerprint(params: &Params) -> String {
    let mut pairs: Vec<&(String, String)> = params
        .entries()
        .iter()
        .filter(|(k, _)| !NOT_PART_OF_THE_OPERATION.contains(&k.as_str()))
        .collect();
    pairs.sort();
    serde_json::to_string(&pairs).unwrap_or_default()
}

/// Runs `apply` at most once per ClientToken: a retry with the same token and parameters gets
/// the first answer again; the same token with other parameters gets `mismatch`.
pub fn idempotent(
    ctx: &Ctx<'_>,
    tx: &mut dyn Tx,
    mismatch: Code,
    apply: impl FnOnce(&mut dyn Tx) -> Result<Reply, ApiError>,
) -> Result<Reply, ApiError> {
    let Some(token) = ctx.params.get_nonempty("ClientToken") else {
        return apply(tx);
    };
    if token.len() > 64 || !token.is_ascii() {
        return Err(ApiError::invalid_parameter(
            "ClientToken",
            "must be at most 64 ASCII characters",
        ));
    }
    let fingerprint = fingerprint(ctx.params);
    if let Some(previous) = tx.idempotent_record(ctx.account(), ctx.action, token)? {
        if previous.fingerprint != fingerprint {
            return Err(ApiError::new(mismatch));
        }
        return serde_json::from_str(&previous.response)
            .map_err(|_| ApiError::new(Code::InternalError));
    }
    let reply = apply(tx)?;
    let response = serde_json::to_string(&reply).map_err(|_| ApiError::new(Code::InternalError))?;
    tx.put_idempotent_record(
        ctx.account(),
        ctx.action,
        token,
        &IdempotentRecord {
            fingerprint,
            response,
        },
        ctx.now,
    )?;
    Ok(reply)
}

/// `DryRun=true`: the request passed authentication and validation; nothing is done.
pub fn dry_run_gate(params: &Params) -> Result<(), ApiError> {
    if params.bool("DryRun")? == Some(true) {
        Err(ApiError::new(Code::DryRunOperation))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_signing_parameters_only() {
        let a = Params::from_pairs([
            ("ImageId", "m-1"),
            ("SignatureNonce", "1"),
            ("ClientToken", "t"),
        ]);
        let b = Params::from_pairs([("SignatureNonce", "2"), ("ImageId", "m-1")]);
        let c = Params::from_pairs([("ImageId", "m-2")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
