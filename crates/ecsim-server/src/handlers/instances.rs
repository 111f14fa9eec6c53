//! RunInstances, CreateInstance, DescribeInstances, Start/Stop/DeleteInstance(s), DescribeDisks.
//! Only what images need: an instance records the image it was launched from, and its system
//! disk is what CreateImage snapshots.

use super::{Ctx, Reply, dry_run_gate, idempotent};
use crate::args::{Paging, json_id_list, required, tags_to_attach};
use crate::present::{self, object};
use ecsim_core::catalog;
use ecsim_core::ids::new_id;
use ecsim_core::model::{Disk, DiskType, Instance, InstanceStatus, ResourceType};
use ecsim_core::rules;
use ecsim_store::{DiskQuery, InstanceQuery, OwnerSet, Tx};
use ecsim_wire::{ApiError, Code};
use serde_json::json;

const MAX_AMOUNT: i64 = 100;

fn missing_parameter_plain(name: &str) -> ApiError {
    ApiError::new(Code::MissingParameter).with_message(format!(
        "The input parameter {name} that is mandatory for processing this request is not supplied."
    ))
}

/// How RunInstances names its image: by id, or by family (the newest Available image of it).
#[derive(Clone, Copy)]
enum ImageRef<'a> {
    Id(&'a str),
    Family(&'a str),
}

/// Launches `amount` instances; `initial` is `Running` for RunInstances, `Stopped` for
/// CreateInstance. Returns their ids.
fn launch(ctx: &Ctx<'_>, amount: i64, initial: InstanceStatus) -> Result<Vec<String>, ApiError> {
    let p = ctx.params;
    let image_ref = match (p.get_nonempty("ImageId"), p.get_nonempty("ImageFamily")) {
        (Some(id), _) => ImageRef::Id(id),
        (None, Some(family)) => ImageRef::Family(family),
        (None, None) => return Err(missing_parameter_plain("ImageId")),
    };
    let type_id = p
        .get_nonempty("InstanceType")
        .ok_or_else(|| missing_parameter_plain("InstanceType"))?;
    let instance_type = catalog::instance_type(type_id).ok_or_else(|| {
        ApiError::new(Code::InvalidInstanceTypeValueNotSupported).with_message(format!(
            "The specified instance type {type_id} does not exist. You can use the DescribeInstanceTypes API to query the available instance types."
        ))
    })?;
    let region = ctx.region.ok_or_else(|| ApiError::missing("RegionId"))?;
    let zone_id = match p.get_nonempty("ZoneId") {
        Some(zone) if region.zones.iter().any(|z| z == zone) => zone.to_string(),
        Some(_) => return Err(ApiError::new(Code::InvalidZoneIdNotFound)),
        None => region
            .zones
            .first()
            .cloned()
            .ok_or_else(|| ApiError::new(Code::InvalidZoneIdNotFound))?,
    };
    let name = p.get_nonempty("InstanceName");
    if let Some(n) = name
        && !(2..=128).contains(&n.chars().count())
    {
        return Err(ApiError::invalid_parameter(
            "InstanceName",
            "must be 2 to 128 characters",
        ));
    }
    let disk_size = p.int("SystemDisk.Size")?;
    let category = p
        .get_nonempty("SystemDisk.Category")
        .unwrap_or("cloud_essd")
        .to_string();
    let tags = tags_to_attach(p)?;
    dry_run_gate(p)?;

    let reply = ctx.app.store.write(|tx| {
        idempotent(ctx, tx, Code::IdempotentParameterMismatch, |tx| {
            let image = match image_ref {
                ImageRef::Id(id) => tx.image(ctx.region_id(), id)?,
                ImageRef::Family(family) => super::images::newest_of_family(
                    ctx,
                    tx,
                    family,
                    OwnerSet {
                        system: true,
                        own: true,
                        shared_with_me: true,
                        community: false,
                    },
                )?,
            }
            .ok_or_else(|| ApiError::new(Code::InvalidImageIdNotFound))?;
            // The caller's own deleted image is known to be gone; any other invisible id is unknown.
            let shared = image.owner.is_some_and(|o| o != ctx.account())
                && tx.is_shared_with(&image.id, ctx.account())?;
            if !rules::image_visible_to(&image, ctx.account(), shared) {
                return Err(if image.owner == Some(ctx.account()) {
                    ApiError::new(Code::OperationDeniedImageNotValid)
                } else {
                    ApiError::new(Code::InvalidImageIdNotFound)
                });
            }
            rules::check_launchable(&image)?;
            if image.architecture != instance_type.architecture {
                return Err(ApiError::new(Code::ImageNotSupportInstanceType));
            }
            let size = disk_size.unwrap_or(image.size_gib.max(20));
            if size < image.size_gib {
                return Err(ApiError::new(Code::InvalidSystemDiskSizeLessThanImageSize));
            }
            let mut ids = Vec::new();
            for _ in 0..amount {
                let id = new_id("i", ctx.region_id());
                let instance = Instance {
                    id: id.clone(),
                    owner: ctx.account(),
                    region_id: ctx.region_id().to_string(),
                    zone_id: zone_id.clone(),
                    name: name.map_or_else(|| id.clone(), str::to_string),
                    instance_type: instance_type.id.to_string(),
                    image_id: image.id.clone(),
                    status: initial,
                    cpu: instance_type.cpu,
                    memory_mib: instance_type.memory_gib * 1024,
                    created_at: ctx.now,
                };
                tx.put_instance(&instance)?;
                tx.put_disk(&Disk {
                    id: new_id("d", ctx.region_id()),
                    owner: ctx.account(),
                    region_id: ctx.region_id().to_string(),
                    zone_id: zone_id.clone(),
                    instance_id: Some(id.clone()),
                    kind: DiskType::System,
                    device: "/dev/xvda".into(),
                    category: category.clone(),
                    size_gib: size,
                    image_id: Some(image.id.clone()),
                    created_at: ctx.now,
                })?;
                for tag in &tags {
                    tx.set_tag(
                        ctx.account(),
                        ctx.region_id(),
                        ResourceType::Instance,
                        &id,
                        tag,
                    )?;
                }
                ids.push(id);
            }
            Ok(object(
                json!({ "InstanceIdSets": { "InstanceIdSet": ids } }),
            ))
        })
    })?;
    Ok(reply
        .get("InstanceIdSets")
        .and_then(|s| s.get("InstanceIdSet"))
        .and_then(|s| s.as_array())
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

pub fn run_instances(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let amount = match ctx.params.int("Amount")? {
        None => 1,
        Some(n) if (1..=MAX_AMOUNT).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "Amount",
                "must be between 1 and 100",
            ));
        }
    };
    let ids = launch(ctx, amount, InstanceStatus::Running)?;
    Ok(object(
        json!({ "InstanceIdSets": { "InstanceIdSet": ids }, "TradePrice": 0.0 }),
    ))
}

pub fn create_instance(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let ids = launch(ctx, 1, InstanceStatus::Stopped)?;
    Ok(object(
        json!({ "InstanceId": ids.first().cloned().unwrap_or_default() }),
    ))
}

pub fn describe_instances(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let paging = Paging::from_params(p)?;
    // MaxResults/NextToken (the current style) page by an opaque offset; PageNumber/PageSize still work.
    let token_paging =
        p.get_nonempty("NextToken").is_some() || p.get_nonempty("MaxResults").is_some();
    let (offset, limit) = if token_paging {
        let limit = match p.int("MaxResults")? {
            None => 10,
            Some(n) if (1..=100).contains(&n) => n as u64,
            Some(_) => {
                return Err(ApiError::invalid_parameter(
                    "MaxResults",
                    "must be between 1 and 100",
                ));
            }
        };
        let offset = match p.get_nonempty("NextToken") {
            None => 0,
            Some(t) => t
                .parse::<u64>()
                .map_err(|_| ApiError::invalid_parameter("NextToken", t))?,
        };
        (offset, limit)
    } else {
        (paging.offset(), paging.size)
    };
    let status = p
        .get_nonempty("Status")
        .map(|s| InstanceStatus::parse(s).ok_or_else(|| ApiError::new(Code::InvalidStatusNotFound)))
        .transpose()?;
    let query = InstanceQuery {
        owner: ctx.account(),
        region_id: ctx.region_id().to_string(),
        ids: json_id_list(p, "InstanceIds", 100)?,
        image_id: p.get_nonempty("ImageId").map(str::to_string),
        status,
        zone_id: p.get_nonempty("ZoneId").map(str::to_string),
        instance_type: p.get_nonempty("InstanceType").map(str::to_string),
        name_pattern: p.get_nonempty("InstanceName").map(str::to_string),
        offset,
        limit,
    };
    dry_run_gate(p)?;
    let (total, instances) = ctx.app.store.read(|tx| {
        let page = tx.find_instances(&query)?;
        let mut shown = Vec::with_capacity(page.items.len());
        for instance in &page.items {
            let image = tx.image(&instance.region_id, &instance.image_id)?;
            let tags = tx.tags(ResourceType::Instance, &instance.id)?;
            shown.push(present::instance(instance, image.as_ref(), &tags));
        }
        Ok((page.total, shown))
    })?;
    Ok(object(json!({
        "TotalCount": total,
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "NextToken": next_token(offset, instances.len(), total),
        "Instances": { "Instance": instances },
    })))
}

/// The token for the page after one that started at `offset` and held `shown` of `total`.
fn next_token(offset: u64, shown: usize, total: u64) -> String {
    let next = offset + shown as u64;
    if next < total {
        next.to_string()
    } else {
        String::new()
    }
}

fn own_instance(ctx: &Ctx<'_>, tx: &mut dyn Tx, id: &str) -> Result<Instance, ApiError> {
    tx.instance(id)?
        .filter(|i| {
            i.owner == ctx.account() && (ctx.region.is_none() || i.region_id == ctx.region_id())
        })
        .ok_or_else(|| ApiError::new(Code::InvalidInstanceIdNotFound))
}

/// Releases an instance: its disks go with it, its snapshots stay, its tags go.
fn release(tx: &mut dyn Tx, instance: &Instance) -> Result<(), ApiError> {
    for disk in tx.disks_of_instance(&instance.id)? {
        tx.delete_disk(&disk.id)?;
        tx.remove_all_tags(ResourceType::Disk, &disk.id)?;
    }
    tx.remove_all_tags(ResourceType::Instance, &instance.id)?;
    tx.delete_instance(&instance.id)?;
    Ok(())
}

pub fn delete_instance(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let id = required(ctx.params, "InstanceId")?;
    let force = ctx.params.bool("Force")?.unwrap_or(false);
    dry_run_gate(ctx.params)?;
    let (instance, image_deleted) = ctx.app.store.write(|tx| {
        let instance = own_instance(ctx, tx, id)?;
        rules::check_instance_deletable(instance.status, force)?;
        release(tx, &instance)?;
        let image_deleted = tx.image_is_deleted(&instance.region_id, &instance.image_id)?;
        Ok((instance, image_deleted))
    })?;
    if image_deleted {
        release_image_bytes(ctx, std::slice::from_ref(&instance));
    }
    Ok(Reply::new())
}

/// The instances' images may have been Force-deleted while they ran: their bytes go with the
/// last instance. DeleteInstance calls this only when its transaction saw the image deleted
/// (a read of the image less per call): writes are serialized, so a DeleteImage that commits
/// after it finds the instance gone and releases the bytes itself.
fn release_image_bytes(ctx: &Ctx<'_>, instances: &[Instance]) {
    let mut seen = std::collections::BTreeSet::new();
    for i in instances {
        if seen.insert((&i.region_id, &i.image_id)) {
            crate::blobs::release_image_if_unused(ctx.app, &i.region_id, &i.image_id);
        }
    }
}

pub fn delete_instances(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let ids = ctx.params.list("InstanceId")?;
    if ids.is_empty() {
        return Err(ApiError::missing("InstanceId"));
    }
    if ids.len() > 100 {
        return Err(ApiError::invalid_parameter(
            "InstanceId",
            "holds at most 100 ids",
        ));
    }
    let force = ctx.params.bool("Force")?.unwrap_or(false);
    dry_run_gate(ctx.params)?;
    let instances = ctx.app.store.write(|tx| {
        let mut instances = Vec::with_capacity(ids.len());
        for id in &ids {
            let instance = own_instance(ctx, tx, id)?;
            rules::check_instance_deletable(instance.status, force)?;
            instances.push(instance);
        }
        for instance in &instances {
            release(tx, instance)?;
        }
        Ok(instances)
    })?;
    release_image_bytes(ctx, &instances);
    Ok(Reply::new())
}

fn set_status(ctx: &Ctx<'_>, from: InstanceStatus, to: InstanceStatus) -> Result<Reply, ApiError> {
    let id = required(ctx.params, "InstanceId")?;
    dry_run_gate(ctx.params)?;
    ctx.app.store.write(|tx| {
        let mut instance = own_instance(ctx, tx, id)?;
        if instance.status != from {
            return Err(ApiError::new(Code::IncorrectInstanceStatus));
        }
        instance.status = to;
        tx.put_instance(&instance)?;
        Ok(Reply::new())
    })
}

pub fn start_instance(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    set_status(ctx, InstanceStatus::Stopped, InstanceStatus::Running)
}

pub fn stop_instance(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    set_status(ctx, InstanceStatus::Running, InstanceStatus::Stopped)
}

pub fn describe_disks(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let paging = Paging::with_limits(p, 10, 100)?;
    let kind = match p.get_nonempty("DiskType") {
        None | Some("all") => None,
        Some(k) => {
            Some(DiskType::parse(k).ok_or_else(|| ApiError::invalid_parameter("DiskType", k))?)
        }
    };
    let query = DiskQuery {
        owner: ctx.account(),
        region_id: ctx.region_id().to_string(),
        ids: json_id_list(p, "DiskIds", 100)?,
        instance_id: p.get_nonempty("InstanceId").map(str::to_string),
        kind,
        offset: paging.offset(),
        limit: paging.size,
    };
    let (total, disks) = ctx.app.store.read(|tx| {
        let page = tx.find_disks(&query)?;
        let mut shown = Vec::with_capacity(page.items.len());
        for disk in &page.items {
            let tags = tx.tags(ResourceType::Disk, &disk.id)?;
            shown.push(present::disk(disk, &tags));
        }
        Ok((page.total, shown))
    })?;
    Ok(object(json!({
        "TotalCount": total,
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "Disks": { "Disk": disks },
    })))
}
