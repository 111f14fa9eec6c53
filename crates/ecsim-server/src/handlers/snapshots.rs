//! CreateSnapshot, DescribeSnapshots, DeleteSnapshot.

use super::{Ctx, Reply, dry_run_gate, idempotent};
use crate::args::{Paging, json_id_list, required, tags_to_attach};
use crate::present::{self, object};
use ecsim_core::ids::new_id;
use ecsim_core::model::{DiskType, ResourceType, Snapshot, SnapshotStatus};
use ecsim_core::validate;
use ecsim_store::SnapshotQuery;
use ecsim_wire::{ApiError, Code};
use serde_json::json;

pub fn create_snapshot(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let disk_id = required(p, "DiskId")?;
    let name = p.get_nonempty("SnapshotName").unwrap_or_default();
    if !name.is_empty() {
        validate::snapshot_name(name)?;
        if name.starts_with("auto") {
            return Err(ApiError::new(Code::InvalidSnapshotNameMalformed));
        }
    }
    let description = p.get_nonempty("Description").unwrap_or_default();
    if !description.is_empty() {
        validate::description(description)?;
    }
    let tags = tags_to_attach(p)?;
    dry_run_gate(p)?;
    let reply = ctx.app.store.write(|tx| {
        idempotent(ctx, tx, Code::IdempotentParameterMismatch, |tx| {
            let disk = tx
                .disk(disk_id)?
                .filter(|d| d.owner == ctx.account())
                .ok_or_else(|| ApiError::new(Code::InvalidDiskIdNotFound))?;
            if tx.disk_has_progressing_snapshot(&disk.id)? {
                return Err(ApiError::new(Code::IncorrectDiskStatusCreatingSnapshot));
            }
            let snapshot = Snapshot::of_disk(
                new_id("s", &disk.region_id),
                &disk,
                name.to_string(),
                description.to_string(),
                ctx.now,
                ctx.ready_at(),
            );
            tx.put_snapshot(&snapshot)?;
            for tag in &tags {
                tx.set_tag(
                    ctx.account(),
                    &snapshot.region_id,
                    ResourceType::Snapshot,
                    &snapshot.id,
                    tag,
                )?;
            }
            Ok(object(json!({ "SnapshotId": snapshot.id })))
        })
    })?;
    ctx.app.completions.notify_one();
    Ok(reply)
}

/// `Usage` filter of DescribeSnapshots.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UsageFilter {
    Image,
    /// Snapshots that built disks: ecsim creates no disks from snapshots, so none match.
    Disk,
    None,
    Any,
}

pub fn describe_snapshots(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let paging = Paging::from_params(p)?;
    let status = match p.get_nonempty("Status") {
        None | Some("all") => None,
        Some(s) => Some(
            SnapshotStatus::parse(s).ok_or_else(|| ApiError::new(Code::InvalidStatusNotFound))?,
        ),
    };
    let usage = match p.get_nonempty("Usage") {
        None => UsageFilter::Any,
        Some("image") | Some("image_disk") => UsageFilter::Image,
        Some("disk") => UsageFilter::Disk,
        Some("none") => UsageFilter::None,
        Some(_) => return Err(ApiError::new(Code::InvalidUsage)),
    };
    let source_disk_type = match p.get_nonempty("SourceDiskType") {
        None => None,
        Some(t) => Some(
            DiskType::parse(&t.to_ascii_lowercase())
                .ok_or_else(|| ApiError::invalid_parameter("SourceDiskType", t))?,
        ),
    };
    let filtered = usage != UsageFilter::Any;
    let query = SnapshotQuery {
        owner: ctx.account(),
        region_id: ctx.region_id().to_string(),
        ids: json_id_list(p, "SnapshotIds", 100)?,
        disk_id: p.get_nonempty("DiskId").map(str::to_string),
        instance_id: p.get_nonempty("InstanceId").map(str::to_string),
        status,
        source_disk_type,
        // The usage filter is applied after the link lookup, so it pages in memory.
        offset: if filtered { 0 } else { paging.offset() },
        limit: if filtered { u64::MAX } else { paging.size },
    };
    dry_run_gate(p)?;
    let (total, snapshots) = ctx.app.store.read(|tx| {
        let page = tx.find_snapshots(&query)?;
        let mut rows = Vec::with_capacity(page.items.len());
        for snapshot in &page.items {
            let used = tx.snapshot_used_by_image(&snapshot.id)?;
            let keep = match usage {
                UsageFilter::Any => true,
                UsageFilter::Image => used,
                UsageFilter::Disk => false,
                UsageFilter::None => !used,
            };
            if keep {
                let tags = tx.tags(ResourceType::Snapshot, &snapshot.id)?;
                rows.push(present::snapshot(snapshot, used, &tags, ctx.now));
            }
        }
        if filtered {
            let total = rows.len() as u64;
            let start = usize::try_from(paging.offset())
                .unwrap_or(usize::MAX)
                .min(rows.len());
            let end = start
                .saturating_add(usize::try_from(paging.size).unwrap_or(usize::MAX))
                .min(rows.len());
            Ok((total, rows[start..end].to_vec()))
        } else {
            Ok((page.total, rows))
        }
    })?;
    Ok(object(json!({
        "TotalCount": total,
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "NextToken": "",
        "Snapshots": { "Snapshot": snapshots },
    })))
}

pub fn delete_snapshot(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let id = ctx
        .params
        .get_nonempty("SnapshotId")
        .ok_or_else(|| {
            ApiError::new(Code::MissingParameter).with_message(
                "The input parameter SnapshotId that is mandatory for processing this request is not supplied.",
            )
        })?;
    // Force only matters for snapshots that built disks; an image's snapshot stays refused.
    let _force = ctx.params.bool("Force")?;
    dry_run_gate(ctx.params)?;
    let region = ctx.app.store.write(|tx| {
        let snapshot = tx
            .snapshot(id)?
            .filter(|s| s.owner == ctx.account())
            .ok_or_else(|| ApiError::new(Code::InvalidSnapshotIdNotFound))?;
        if tx.snapshot_used_by_image(&snapshot.id)? {
            return Err(ApiError::new(Code::SnapshotCreatedImage));
        }
        tx.delete_snapshot(&snapshot.id)?;
        tx.remove_all_tags(ResourceType::Snapshot, &snapshot.id)?;
        Ok(snapshot.region_id)
    })?;
    crate::blobs::release(ctx.app, &region, id);
    Ok(Reply::new())
}
