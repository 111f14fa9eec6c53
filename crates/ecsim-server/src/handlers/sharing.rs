//! ModifyImageSharePermission and DescribeImageSharePermission (spec §3.5, §3.6).

use super::{Ctx, Reply, dry_run_gate};
use crate::args::Paging;
use crate::present::object;
use ecsim_core::clock::format_time;
use ecsim_core::model::{AccountId, Image};
use ecsim_core::rules::{self, ShareChange, ShareFacts};
use ecsim_store::Tx;
use ecsim_wire::{ApiError, Code, Params};
use serde_json::json;

/// Per call, only the first ten of `AddAccount.N` / `RemoveAccount.N` count (spec §3.5).
const MAX_ACCOUNTS_PER_CALL: usize = 10;

fn accounts(p: &Params, name: &str) -> Result<Vec<AccountId>, ApiError> {
    let mut out = Vec::new();
    for raw in p.list(name)?.into_iter().take(MAX_ACCOUNTS_PER_CALL) {
        let id = raw
            .trim()
            .parse::<AccountId>()
            .map_err(|_| ApiError::new(Code::InvalidAccountNotFound))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The image the share call names: system images are answered by the rule (`Image.Public`);
/// anything else not owned by the caller, or deleted, does not exist for it.
fn shareable_image(ctx: &Ctx<'_>, tx: &mut dyn Tx, id: &str) -> Result<Image, ApiError> {
    tx.image(ctx.region_id(), id)?
        .filter(|i| !i.is_deleted() && (i.is_system() || i.owner == Some(ctx.account())))
        .ok_or_else(|| ApiError::new(Code::InvalidImageIdNotFound))
}

pub fn modify_image_share_permission(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let image_id = p
        .get_nonempty("ImageId")
        .ok_or_else(|| ApiError::missing_parameter("ImageId"))?;
    let change = ShareChange {
        add: accounts(p, "AddAccount")?,
        remove: accounts(p, "RemoveAccount")?,
        publish: p.bool("IsPublic")?,
    };
    // LaunchPermission (an invitational preview) is accepted but has no effect beyond this check.
    if change.publish.is_some() && p.get_nonempty("LaunchPermission").is_some() {
        return Err(ApiError::new(Code::InvalidParameterIsPublic));
    }
    dry_run_gate(p)?;
    ctx.app.store.write(|tx| {
        let mut image = shareable_image(ctx, tx, image_id)?;
        for account in change.add.iter().chain(&change.remove) {
            if *account != ctx.account() && !tx.account_exists(*account)? {
                return Err(ApiError::new(Code::InvalidAccountNotFound).with_message(format!(
                    "The specified account {account} in parameter \"AddAccount.n\" or \"RemoveAccount.n\" does not exist."
                )));
            }
        }
        let mut after = 0;
        let mut already = Vec::new();
        if !image.is_system() {
            let current = tx.image_shares(&image.id, 0, u64::MAX)?;
            already = current.items.into_iter().map(|(a, _)| a).collect::<Vec<_>>();
            after = already
                .iter()
                .chain(&change.add)
                .filter(|a| !change.remove.contains(a))
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u64;
        }
        let facts = ShareFacts {
            accounts_after: after,
            becomes_shared: already.is_empty() && after > 0,
            owner_shared_images: tx.shared_image_count(ctx.account())?,
            owner_shared_images_quota: ctx.app.settings.shared_images_quota,
        };
        rules::check_share_change(&image, ctx.account(), &change, &facts)?;
        for account in &change.remove {
            tx.unshare_image(&image.id, *account)?;
        }
        for account in change.add.iter().filter(|a| !change.remove.contains(a)) {
            if !already.contains(account) {
                tx.share_image(&image.id, *account, ctx.now)?;
            }
        }
        if let Some(publish) = change.publish
            && publish != image.is_public
        {
            image.is_public = publish;
            tx.put_image(&image)?;
        }
        Ok(Reply::new())
    })
}

pub fn describe_image_share_permission(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let image_id = p
        .get_nonempty("ImageId")
        .ok_or_else(|| ApiError::missing_parameter("ImageId"))?;
    let paging = Paging::from_params(p)?;
    let (public, shares) = ctx.app.store.read(|tx| {
        let image = tx
            .image(ctx.region_id(), image_id)?
            .filter(|i| !i.is_deleted() && i.owner == Some(ctx.account()))
            .ok_or_else(|| {
                ApiError::new(Code::InvalidImageIdNotFound)
                    .with_message(format!("The specified image {image_id} does not exist."))
            })?;
        let shares = tx.image_shares(&image.id, paging.offset(), paging.size)?;
        Ok((image.is_public, shares))
    })?;
    let accounts: Vec<_> = shares
        .items
        .iter()
        .map(|(account, at)| json!({ "AliyunId": account.to_string(), "SharedTime": format_time(*at) }))
        .collect();
    let groups: Vec<_> = if public {
        vec![json!({ "Group": "all" })]
    } else {
        Vec::new()
    };
    Ok(object(json!({
        "RegionId": ctx.region_id(),
        "ImageId": image_id,
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "TotalCount": shares.total,
        "ShareGroups": { "ShareGroup": groups },
        "Accounts": { "Account": accounts },
    })))
}
