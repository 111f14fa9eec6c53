//! DescribeImages, CreateImage, ModifyImageAttribute and DeleteImage.

use super::{Ctx, Reply, dry_run_gate, idempotent};
use crate::args::{Paging, comma_list, required, tag_filters, tags_to_attach};
use crate::blobs::{self, Batch, Plan};
use crate::present::{FamilyImage, ImageView, ImagesPage, object};
use crate::state::AppState;
use ecsim_blob::BlobId;
use ecsim_core::catalog;
use ecsim_core::clock::parse_time;
use ecsim_core::ids::new_id;
use ecsim_core::model::{
    Architecture, BlobRef, BootMode, DiskMapping, DiskType, Image, ImageStatus, OsType,
    ResourceType, Snapshot, SnapshotStatus, TaskAction,
};
use ecsim_core::rules::{self, DeleteTarget, DeletionFacts};
use ecsim_core::validate;
use ecsim_store::{ImageQuery, OwnerSet, Tx};
use ecsim_wire::{ApiError, Code, Params};
use serde_json::json;
use std::collections::HashMap;

fn image_query(ctx: &Ctx<'_>) -> Result<(ImageQuery, Paging), ApiError> {
    let p = ctx.params;
    let paging = Paging::from_params(p)?;
    let is_public = p.bool("IsPublic")?;
    let alias = p.get_nonempty("ImageOwnerAlias");
    if is_public == Some(true) && alias != Some("others") {
        return Err(ApiError::new(
            Code::InvalidImageOwnerAliasPublicImageUnsupported,
        ));
    }
    let owners = match alias {
        None => OwnerSet {
            system: true,
            own: true,
            shared_with_me: true,
            community: false,
        },
        Some("system") => OwnerSet {
            system: true,
            ..Default::default()
        },
        Some("self") => OwnerSet {
            own: true,
            ..Default::default()
        },
        Some("others") if is_public == Some(true) => OwnerSet {
            community: true,
            ..Default::default()
        },
        Some("others") => OwnerSet {
            shared_with_me: true,
            ..Default::default()
        },
        // ecsim carries no marketplace images.
        Some("marketplace") => OwnerSet::default(),
        Some(_) => return Err(ApiError::new(Code::InvalidImageOwnerAliasValueNotSupported)),
    };
    let owner_id = match p.int("ImageOwnerId")? {
        Some(_) if alias != Some("others") => {
            return Err(ApiError::new(Code::InvalidImageOwnerIdUnsupported));
        }
        other => other,
    };
    let statuses = match p.get_nonempty("Status") {
        None => vec![ImageStatus::Available],
        Some(list) => {
            let parts = comma_list(list);
            if parts.iter().any(|s| s.eq_ignore_ascii_case("ALL")) {
                if parts.len() > 1 {
                    return Err(ApiError::invalid_parameter(
                        "Status",
                        "ALL cannot be combined with other values",
                    ));
                }
                Vec::new()
            } else {
                parts
                    .iter()
                    .map(|s| {
                        ImageStatus::parse(s)
                            .ok_or_else(|| ApiError::invalid_parameter("Status", s))
                    })
                    .collect::<Result<_, _>>()?
            }
        }
    };
    let ids: Vec<String> = match p.get_nonempty("ImageId") {
        None => Vec::new(),
        Some(list) => {
            let ids: Vec<String> = comma_list(list).into_iter().map(str::to_string).collect();
            if ids.len() > 100 {
                return Err(ApiError::invalid_parameter(
                    "ImageId",
                    "holds at most 100 ids",
                ));
            }
            ids
        }
    };
    let in_use = match p.get_nonempty("Usage") {
        None => None,
        Some("instance") => Some(true),
        Some("none") => Some(false),
        Some(_) => return Err(ApiError::new(Code::InvalidUsage)),
    };
    let os_type = p
        .get_nonempty("OSType")
        .map(|s| {
            OsType::parse(&s.to_ascii_lowercase()).ok_or_else(|| ApiError::new(Code::InvalidOsType))
        })
        .transpose()?;
    let mut architecture = p
        .get_nonempty("Architecture")
        .map(|s| Architecture::parse(s).ok_or_else(|| ApiError::new(Code::InvalidArchitecture)))
        .transpose()?;
    if let Some(t) = p.get_nonempty("InstanceType") {
        let spec = catalog::instance_type(t).ok_or_else(|| {
            ApiError::new(Code::InvalidInstanceTypeValueNotSupported).with_message(format!(
                "The specified instance type {t} does not exist. You can use the DescribeInstanceTypes API to query the available instance types."
            ))
        })?;
        if architecture.is_some_and(|a| a != spec.architecture) {
            return Ok((
                ImageQuery {
                    limit: 0,
                    ..Default::default()
                },
                paging,
            ));
        }
        architecture = Some(spec.architecture);
    }
    let (mut created_from, mut created_to) = (None, None);
    for filter in p.object_list("Filter")? {
        let key = filter.get("Key").map(String::as_str).unwrap_or_default();
        let value = filter.get("Value").map(String::as_str).unwrap_or_default();
        match key {
            "CreationStartTime" | "CreationEndTime" => {
                let at =
                    parse_time(value).ok_or_else(|| ApiError::new(Code::InvalidFilterValue))?;
                if key == "CreationStartTime" {
                    created_from = Some(at);
                } else {
                    created_to = Some(at);
                }
            }
            // Every ecsim image is VPC-ready and supports the online resize features.
            "NetworkType"
            | "CpuOnlineUpgrade"
            | "CpuOnlineDowngrade"
            | "MemoryOnlineUpgrade"
            | "MemoryOnlineDowngrade" => {}
            _ => return Err(ApiError::new(Code::InvalidFilterKeyNotFound)),
        }
    }
    let query = ImageQuery {
        caller: ctx.account(),
        region_id: ctx.region_id().to_string(),
        ids,
        name_contains: p.get_nonempty("ImageName").map(str::to_string),
        family: p.get_nonempty("ImageFamily").map(str::to_string),
        owners,
        owner_id,
        statuses,
        os_type,
        architecture,
        in_use,
        snapshot_id: p.get_nonempty("SnapshotId").map(str::to_string),
        tags: tag_filters(p)?,
        created_from,
        created_to,
        offset: paging.offset(),
        limit: paging.size,
    };
    Ok((query, paging))
}

/// An image being imported or copied shows its task's progress.
fn creating_task_percent(tx: &mut dyn Tx, image: &Image) -> Result<Option<u64>, ApiError> {
    if image.ready_at.is_some()
        || !matches!(image.status, ImageStatus::Creating | ImageStatus::Waiting)
    {
        return Ok(None);
    }
    for action in [TaskAction::ImportImage, TaskAction::CopyImage] {
        if let Some(task) = tx.open_task(&image.id, action)? {
            return Ok(Some(task.percent()));
        }
    }
    Ok(Some(0))
}

/// The images as DescribeImages shows them to the caller, with their listing extras.
fn image_views(
    ctx: &Ctx<'_>,
    tx: &mut dyn Tx,
    images: Vec<Image>,
) -> Result<Vec<ImageView>, ApiError> {
    let ids: Vec<String> = images.iter().map(|i| i.id.clone()).collect();
    // Share counts show only on the caller's own images.
    let any_own = images.iter().any(|i| i.owner == Some(ctx.account()));
    let extras = tx.image_listing_extras(ctx.region_id(), &ids, any_own)?;
    let mut shown = Vec::with_capacity(images.len());
    for (image, extra) in images.into_iter().zip(extras) {
        let task_percent = creating_task_percent(tx, &image)?;
        let shared_accounts = if image.owner == Some(ctx.account()) {
            extra.shared_accounts
        } else {
            0
        };
        shown.push(ImageView {
            image,
            tags: extra.tags,
            in_use: extra.in_use,
            shared_accounts,
            task_percent,
        });
    }
    Ok(shown)
}

/// The newest Available image of `family` in the caller's region among `owners`' images.
pub(super) fn newest_of_family(
    ctx: &Ctx<'_>,
    tx: &mut dyn Tx,
    family: &str,
    owners: OwnerSet,
) -> Result<Option<Image>, ApiError> {
    let query = ImageQuery {
        caller: ctx.account(),
        region_id: ctx.region_id().to_string(),
        family: Some(family.to_string()),
        owners,
        statuses: vec![ImageStatus::Available],
        limit: 1,
        ..Default::default()
    };
    Ok(tx.find_images(&query)?.items.into_iter().next())
}

/// The caller's newest Available custom image of `ImageFamily` in the region. As ECS documents
/// it, only the caller's own images count (public, shared and community images are not
/// queried; RunInstances' `ImageFamily` also takes system and shared ones), and a family with
/// none answers an empty `Image`.
pub fn describe_image_from_family(ctx: &Ctx<'_>) -> Result<FamilyImage, ApiError> {
    let family = required(ctx.params, "ImageFamily")?;
    let own = OwnerSet {
        own: true,
        ..OwnerSet::default()
    };
    let image = ctx.app.store.read(|tx| {
        let newest = newest_of_family(ctx, tx, family, own)?;
        Ok(image_views(ctx, tx, newest.into_iter().collect())?.pop())
    })?;
    Ok(FamilyImage {
        image,
        caller: ctx.account(),
        now: ctx.now,
    })
}

pub fn describe_images(ctx: &Ctx<'_>) -> Result<ImagesPage, ApiError> {
    let (query, paging) = image_query(ctx)?;
    dry_run_gate(ctx.params)?;
    let (total, images) = ctx.app.store.read(|tx| {
        let page = if query.limit == 0 {
            Default::default()
        } else {
            tx.find_images(&query)?
        };
        Ok((page.total, image_views(ctx, tx, page.items)?))
    })?;
    Ok(ImagesPage {
        region_id: ctx.region_id().to_string(),
        total,
        paging,
        caller: ctx.account(),
        now: ctx.now,
        images,
    })
}

/// The image's own descriptive fields, as CreateImage takes them.
struct NewImageFields {
    name: Option<String>,
    description: String,
    family: String,
    version: String,
    platform: Option<String>,
    architecture: Option<Architecture>,
    boot_mode: Option<BootMode>,
    imds_support: Option<String>,
}

fn new_image_fields(p: &Params) -> Result<NewImageFields, ApiError> {
    let name = p.get_nonempty("ImageName").map(str::to_string);
    if let Some(n) = &name {
        validate::image_name(n)
            .map_err(|e| e.with_message("The specified Image name is wrongly formed."))?;
    }
    let description = p
        .get_nonempty("Description")
        .unwrap_or_default()
        .to_string();
    if !description.is_empty() {
        validate::description(&description)?;
    }
    let family = p
        .get_nonempty("ImageFamily")
        .unwrap_or_default()
        .to_string();
    if !family.is_empty() {
        validate::image_family(&family)?;
    }
    let architecture = p
        .get_nonempty("Architecture")
        .map(|a| {
            Architecture::parse(a).ok_or_else(|| ApiError::invalid_parameter("Architecture", a))
        })
        .transpose()?;
    let boot_mode = p
        .get_nonempty("BootMode")
        .map(|b| BootMode::parse(b).ok_or_else(|| ApiError::new(Code::InvalidBootModeNotSupport)))
        .transpose()?;
    let imds_support = p
        .get_nonempty("Features.ImdsSupport")
        .map(|v| match v {
            "v1" | "v2" => Ok(v.to_string()),
            _ => Err(ApiError::invalid_parameter(
                "Features.ImdsSupport",
                "must be v1 or v2",
            )),
        })
        .transpose()?;
    Ok(NewImageFields {
        name,
        description,
        family,
        version: p
            .get_nonempty("ImageVersion")
            .unwrap_or_default()
            .to_string(),
        platform: p.get_nonempty("Platform").map(str::to_string),
        architecture,
        boot_mode,
        imds_support,
    })
}

/// One requested `DiskDeviceMapping.N`.
struct MappingRequest {
    snapshot_id: Option<String>,
    size: Option<i64>,
    device: Option<String>,
    kind: Option<DiskType>,
}

fn mapping_requests(p: &Params) -> Result<Vec<MappingRequest>, ApiError> {
    p.object_list("DiskDeviceMapping")?
        .into_iter()
        .map(|m| {
            let size = m
                .get("Size")
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| ApiError::invalid_parameter("DiskDeviceMapping.N.Size", s))
                })
                .transpose()?;
            let kind = m
                .get("DiskType")
                .filter(|s| !s.is_empty())
                .map(|s| {
                    DiskType::parse(s).ok_or_else(|| {
                        ApiError::invalid_parameter("DiskDeviceMapping.N.DiskType", s)
                    })
                })
                .transpose()?;
            Ok(MappingRequest {
                snapshot_id: m.get("SnapshotId").filter(|s| !s.is_empty()).cloned(),
                size,
                device: m.get("Device").filter(|s| !s.is_empty()).cloned(),
                kind,
            })
        })
        .collect()
}

/// Where CreateImage takes its disks from, by the documented priority
/// InstanceId > DiskDeviceMapping > SnapshotId.
enum Source {
    Instance(String),
    Mappings(Vec<MappingRequest>),
}

fn source(p: &Params) -> Result<Source, ApiError> {
    if let Some(instance) = p.get_nonempty("InstanceId") {
        return Ok(Source::Instance(instance.to_string()));
    }
    let mappings = mapping_requests(p)?;
    if !mappings.is_empty() {
        return Ok(Source::Mappings(mappings));
    }
    if let Some(snapshot) = p.get_nonempty("SnapshotId") {
        return Ok(Source::Mappings(vec![MappingRequest {
            snapshot_id: Some(snapshot.to_string()),
            size: None,
            device: None,
            kind: Some(DiskType::System),
        }]));
    }
    Err(ApiError::new(Code::CreateImageSourceMissing))
}

fn own_snapshot(ctx: &Ctx<'_>, tx: &mut dyn Tx, id: &str) -> Result<Snapshot, ApiError> {
    tx.snapshot(id)?
        .filter(|s| s.owner == ctx.account() && s.region_id == ctx.region_id())
        .ok_or_else(|| ApiError::new(Code::CreateImageSnapshotNotFound))
}

fn data_device(index: usize) -> String {
    let letter = (b'b' + u8::try_from(index.min(24)).unwrap_or(24)) as char;
    format!("/dev/xvd{letter}")
}

/// Resolves the mappings of a snapshot-based CreateImage: exactly one system disk.
fn resolve_mappings(
    ctx: &Ctx<'_>,
    tx: &mut dyn Tx,
    requests: Vec<MappingRequest>,
) -> Result<(Vec<DiskMapping>, Option<String>), ApiError> {
    let mut mappings = Vec::with_capacity(requests.len());
    let mut base_image = None;
    let mut data_index = 0;
    for req in requests {
        let snapshot = req
            .snapshot_id
            .as_deref()
            .map(|id| own_snapshot(ctx, tx, id))
            .transpose()?;
        if let Some(s) = &snapshot {
            rules::check_snapshot_usable(s)?;
        }
        let kind = req
            .kind
            .or(snapshot.as_ref().map(|s| s.source_disk_type))
            .unwrap_or(DiskType::Data);
        let min_size = snapshot.as_ref().map_or(0, |s| s.source_disk_size_gib);
        let size = req.size.unwrap_or(if min_size > 0 { min_size } else { 20 });
        if size < min_size || !(1..=32768).contains(&size) {
            return Err(ApiError::invalid_parameter(
                "DiskDeviceMapping.N.Size",
                "is smaller than the snapshot or out of range",
            ));
        }
        let device = req.device.unwrap_or_else(|| match kind {
            DiskType::System => "/dev/xvda".to_string(),
            DiskType::Data => {
                data_index += 1;
                data_device(data_index - 1)
            }
        });
        if kind == DiskType::System {
            base_image = snapshot.as_ref().and_then(|s| s.source_image_id.clone());
        }
        mappings.push(DiskMapping {
            device,
            kind,
            size_gib: size,
            snapshot_id: snapshot.map(|s| s.id),
            format: String::new(),
            import_oss_bucket: String::new(),
            import_oss_object: String::new(),
            blob_sha256: None,
        });
    }
    match mappings
        .iter()
        .filter(|m| m.kind == DiskType::System)
        .count()
    {
        0 => Err(ApiError::new(Code::DiskMappingNoSystemSnapshot)),
        1 => Ok((mappings, base_image)),
        _ => Err(ApiError::new(Code::DiskMappingTwoSystemSnapshots)),
    }
}

/// CreateImage from an instance: one snapshot per disk, finishing with the image. A disk whose
/// bytes [`prepare_instant`] already put in place (same disk, same source image) gets that
/// snapshot, born `accomplished`; the others progress as usual. Returns the mappings, the base
/// image, whether the system disk's snapshot was born complete, and whether all were.
fn snapshot_instance(
    ctx: &Ctx<'_>,
    tx: &mut dyn Tx,
    instance_id: &str,
    image_id: &str,
    prepared: Option<&Prepared>,
    used: &mut Vec<String>,
) -> Result<(Vec<DiskMapping>, Option<String>, bool, bool), ApiError> {
    let instance = tx
        .instance(instance_id)?
        .filter(|i| i.owner == ctx.account() && i.region_id == ctx.region_id())
        .ok_or_else(|| ApiError::new(Code::InvalidInstanceIdNotFound))?;
    rules::check_instance_imageable(instance.status)?;
    let mut mappings = Vec::new();
    let mut system_instant = false;
    let mut all_instant = true;
    for disk in tx.disks_of_instance(&instance.id)? {
        let ready = prepared
            .and_then(|p| p.snapshots.get(&disk.id))
            .filter(|p| p.source_image == disk.image_id && p.region == disk.region_id);
        let snapshot = match ready {
            Some(ready) => {
                let mut snapshot = Snapshot::of_disk(
                    ready.id.clone(),
                    &disk,
                    String::new(),
                    format!("Created for image {image_id}"),
                    ctx.now,
                    ctx.now,
                );
                snapshot.status = SnapshotStatus::Accomplished;
                snapshot.ready_at = None;
                snapshot.blob_source = None;
                snapshot.blob_sha256 = ready.checksum.clone();
                used.push(ready.id.clone());
                if disk.kind == DiskType::System {
                    system_instant = true;
                }
                snapshot
            }
            None => {
                all_instant = false;
                Snapshot::of_disk(
                    new_id("s", ctx.region_id()),
                    &disk,
                    String::new(),
                    format!("Created for image {image_id}"),
                    ctx.now,
                    ctx.ready_at(),
                )
            }
        };
        tx.put_snapshot(&snapshot)?;
        mappings.push(DiskMapping {
            device: disk.device.clone(),
            kind: disk.kind,
            size_gib: disk.size_gib,
            snapshot_id: Some(snapshot.id),
            format: String::new(),
            import_oss_bucket: String::new(),
            import_oss_object: String::new(),
            blob_sha256: None,
        });
    }
    Ok((
        mappings,
        Some(instance.image_id),
        system_instant,
        all_instant,
    ))
}

/// The bytes of an instant CreateImage from an instance, put in place before its transaction
/// (see [`prepare_instant`]).
struct Prepared {
    image_id: String,
    /// Checksum of the bytes now under the image's id (its system disk's).
    image_checksum: String,
    /// Per disk id: the snapshot made of it.
    snapshots: HashMap<String, PreparedSnapshot>,
    /// Every blob written, with the snapshot id it belongs to (`None`: the image's).
    blobs: Vec<(BlobId, Option<String>)>,
}

struct PreparedSnapshot {
    id: String,
    region: String,
    /// The image the disk was made from when its bytes were cloned; the snapshot is used only
    /// if the disk still names it in the transaction.
    source_image: Option<String>,
    checksum: Option<String>,
}

/// With no creation time (`--creation-time-ms 0`: creations complete at once), a CreateImage
/// from an instance needs no completion round: its snapshots' and image's bytes are cloned (and
/// their directory fsynced) here, *before* the transaction that records them, so the image is
/// born `Available` and the snapshots `accomplished` in the same commit as CreateImage itself.
/// A crash before that commit leaves only unreferenced blobs under ids nobody was ever given;
/// a crash after it finds the bytes durable already. Any doubt (the instance or its disks are
/// not what the transaction will see, a clone failed, the name is taken) returns `None` or
/// leaves the disk out, and the creation takes the timed path (the completion worker) as with
/// a creation time.
fn prepare_instant(ctx: &Ctx<'_>, instance_id: &str, name: Option<&str>) -> Option<Prepared> {
    if ctx.app.settings.creation_time_ms > 0 {
        return None;
    }
    let region = ctx.region_id();
    let read = ctx.app.store.read(|tx| {
        if let Some(name) = name
            && tx.image_name_taken(ctx.account(), region, name, None)?
        {
            return Ok(None);
        }
        let Some(instance) = tx.instance(instance_id)?.filter(|i| {
            i.owner == ctx.account()
                && i.region_id == region
                && rules::check_instance_imageable(i.status).is_ok()
        }) else {
            return Ok(None);
        };
        let disks = tx.disks_of_instance(&instance.id)?;
        // Each source image's recorded checksum, read once.
        let mut recorded: HashMap<(String, String), Option<String>> = HashMap::new();
        for disk in &disks {
            if let Some(image) = &disk.image_id
                && let std::collections::hash_map::Entry::Vacant(entry) =
                    recorded.entry((disk.region_id.clone(), image.clone()))
            {
                entry.insert(
                    tx.image(&disk.region_id, image)?
                        .and_then(|i| i.blob_sha256),
                );
            }
        }
        Ok(Some((disks, recorded)))
    });
    let (disks, recorded) = match read {
        Ok(Some(read)) => read,
        Ok(None) => return None,
        Err(err) => {
            tracing::warn!(error = %err, "reading an instance for an instant CreateImage failed");
            return None;
        }
    };
    // The image's bytes are its system disk's; one made from no image takes the timed path.
    let system = disks
        .iter()
        .find(|d| d.kind == DiskType::System && d.image_id.is_some())?;
    let mut sources = HashMap::new();
    for (key, sum) in recorded {
        let source = blobs::image_blob_of(ctx.app, &key.0, &key.1, sum).ok()?;
        sources.insert(key, source);
    }
    let image_id = new_id("m", region);
    // The clones, in one batch as the completion worker runs them: each disk's bytes to its
    // snapshot, the system disk's also to the image.
    let mut batch = Batch::default();
    // Per disk: its id, its snapshot and the job cloning its bytes (none for a disk made from
    // no image: no bytes and no checksum, as the completion worker records).
    let mut planned: Vec<(String, PreparedSnapshot, Plan)> = Vec::new();
    // Set with the system disk's (found above).
    let mut image_plan = Plan::Failed;
    for disk in &disks {
        let id = new_id("s", region);
        let mut plan = Plan::Nothing;
        if let Some(image) = &disk.image_id {
            let source = sources.get(&(disk.region_id.clone(), image.clone()))?;
            plan = batch.add(Ok(source.clone()), &disk.region_id, &id);
            if disk.id == system.id {
                image_plan = batch.add(Ok(source.clone()), region, &image_id);
            }
        }
        // A destination that cannot even be named: nothing is cloned yet.
        if matches!(plan, Plan::Failed) {
            return None;
        }
        let snapshot = PreparedSnapshot {
            id,
            region: disk.region_id.clone(),
            source_image: disk.image_id.clone(),
            checksum: None,
        };
        planned.push((disk.id.clone(), snapshot, plan));
    }
    if matches!(image_plan, Plan::Failed) {
        return None;
    }
    // Whatever happens, each destination may exist once the batch has run.
    let mut blobs_written: Vec<(BlobId, Option<String>)> = planned
        .iter()
        .filter_map(|(_, s, plan)| Some((batch.destination(*plan)?.clone(), Some(s.id.clone()))))
        .collect();
    blobs_written.extend(batch.destination(image_plan).map(|dst| (dst.clone(), None)));
    let done = batch.run(ctx.app);
    let image_bytes = done.of(image_plan);
    let mut failed = !image_bytes.succeeded();
    let mut snapshots = HashMap::new();
    for (disk_id, mut snapshot, plan) in planned {
        let bytes = done.of(plan);
        failed |= !bytes.succeeded();
        snapshot.checksum = bytes.checksum();
        snapshots.insert(disk_id, snapshot);
    }
    let prepared = Prepared {
        image_id,
        image_checksum: image_bytes.checksum().unwrap_or_default(),
        snapshots,
        blobs: blobs_written,
    };
    if failed || prepared.image_checksum.is_empty() {
        prepared.discard(ctx.app, |_| true);
        return None;
    }
    Some(prepared)
}

impl Prepared {
    /// Deletes the blobs written for it that `unused` selects (by their snapshot id, `None` for
    /// the image's): nothing refers to them.
    fn discard(&self, app: &AppState, unused: impl Fn(Option<&str>) -> bool) {
        for (blob, snapshot) in &self.blobs {
            if unused(snapshot.as_deref())
                && let Err(err) = app.blobs.delete(blob)
            {
                tracing::warn!(error = %err, blob = %blob, "removing unused bytes failed");
            }
        }
    }
}

pub fn create_image(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let fields = new_image_fields(p)?;
    let tags = tags_to_attach(p)?;
    let source = source(p)?;
    dry_run_gate(p)?;
    let prepared = match &source {
        Source::Instance(instance) => prepare_instant(ctx, instance, fields.name.as_deref()),
        Source::Mappings(_) => None,
    };
    // What the transaction used of `prepared`: the snapshots, whether the image was recorded
    // under its id, and whether the closure got to the end (its error is a refusal then).
    let mut used_snapshots = Vec::new();
    let mut image_recorded = false;
    let mut instant = false;
    let mut nothing_due = false;
    let mut ran_through = false;
    let written = ctx.app.store.write(|tx| {
        let reply = idempotent(ctx, tx, Code::IdempotenceParamNotMatch, |tx| {
            if let Some(name) = &fields.name
                && tx.image_name_taken(ctx.account(), ctx.region_id(), name, None)?
            {
                return Err(ApiError::new(Code::InvalidImageNameDuplicated));
            }
            let id = prepared
                .as_ref()
                .map_or_else(|| new_id("m", ctx.region_id()), |p| p.image_id.clone());
            let from_instance = matches!(source, Source::Instance(_));
            let (mappings, base_image_id, source_instance_id) = match source {
                Source::Instance(instance_id) => {
                    let (m, base, system_instant, all_instant) = snapshot_instance(
                        ctx,
                        tx,
                        &instance_id,
                        &id,
                        prepared.as_ref(),
                        &mut used_snapshots,
                    )?;
                    instant = system_instant;
                    nothing_due = system_instant && all_instant;
                    (m, base, Some(instance_id))
                }
                Source::Mappings(requests) => {
                    let (m, base) = resolve_mappings(ctx, tx, requests)?;
                    (m, base, None)
                }
            };
            // A deleted base image still describes the OS on the disk, so tombstones count.
            let base = match base_image_id {
                Some(base_id) => tx.image(ctx.region_id(), &base_id)?,
                None => None,
            };
            // Spec §3.2: ImdsSupport defaults to the source image's value for an instance, v1 for snapshots.
            let inherited_imds = if from_instance {
                base.as_ref().map(|b| b.imds_support.clone())
            } else {
                None
            };
            let size = mappings
                .iter()
                .find(|m| m.kind == DiskType::System)
                .map_or(20, |m| m.size_gib);
            let mut image = Image {
                id: id.clone(),
                region_id: ctx.region_id().to_string(),
                owner: Some(ctx.account()),
                name: fields.name.clone().unwrap_or_else(|| id.clone()),
                description: fields.description.clone(),
                family: fields.family.clone(),
                version: fields.version.clone(),
                status: ImageStatus::Creating,
                os_type: base.as_ref().map_or(OsType::Linux, |b| b.os_type),
                os_name: base.as_ref().map(|b| b.os_name.clone()).unwrap_or_default(),
                os_name_en: base
                    .as_ref()
                    .map(|b| b.os_name_en.clone())
                    .unwrap_or_default(),
                platform: fields
                    .platform
                    .clone()
                    .or_else(|| base.as_ref().map(|b| b.platform.clone()))
                    .unwrap_or_else(|| "Others Linux".to_string()),
                architecture: fields
                    .architecture
                    .or(base.as_ref().map(|b| b.architecture))
                    .unwrap_or(Architecture::X86_64),
                boot_mode: fields
                    .boot_mode
                    .or(base.as_ref().map(|b| b.boot_mode))
                    .unwrap_or(BootMode::UefiPreferred),
                size_gib: size,
                license_type: String::new(),
                imds_support: fields
                    .imds_support
                    .clone()
                    .or(inherited_imds)
                    .unwrap_or_else(|| "v1".to_string()),
                nvme_support: base
                    .as_ref()
                    .map_or_else(|| "unsupported".to_string(), |b| b.nvme_support.clone()),
                is_copied: false,
                is_public: false,
                encrypted: false,
                created_at: ctx.now,
                ready_at: Some(ctx.ready_at()),
                deleted_at: None,
                source_instance_id,
                // The system disk's snapshot holds the bytes the image is made of.
                blob_sha256: None,
                blob_source: mappings
                    .iter()
                    .find(|m| m.kind == DiskType::System)
                    .and_then(|m| m.snapshot_id.clone())
                    .map(|key| BlobRef {
                        region: ctx.region_id().to_string(),
                        key,
                    }),
                disk_mappings: mappings,
            };
            if let Some(prepared) = prepared.as_ref().filter(|_| instant) {
                // Its bytes are in place and durable already (`prepare_instant`).
                image.status = ImageStatus::Available;
                image.ready_at = None;
                image.blob_source = None;
                image.blob_sha256 = Some(prepared.image_checksum.clone());
            }
            tx.put_image(&image)?;
            image_recorded = prepared.is_some();
            for tag in &tags {
                tx.set_tag(
                    ctx.account(),
                    ctx.region_id(),
                    ResourceType::Image,
                    &image.id,
                    tag,
                )?;
            }
            Ok(object(json!({ "ImageId": image.id })))
        })?;
        ran_through = true;
        Ok(reply)
    });
    if let Some(prepared) = &prepared {
        match &written {
            // Committed: the image's blob is its bytes (born Available, or cloned over again
            // by the completion worker), as are the snapshots that took theirs.
            Ok(_) => prepared.discard(ctx.app, |snapshot| match snapshot {
                None => !image_recorded,
                Some(id) => !used_snapshots.iter().any(|used| used == id),
            }),
            // Refused (or replayed): nothing refers to any of them.
            Err(_) if !ran_through => prepared.discard(ctx.app, |_| true),
            // The commit itself failed and may yet be durable: keep the bytes it may need.
            Err(_) => {}
        }
    }
    let reply = written?;
    // An instant creation left nothing for the completion worker.
    if !nothing_due {
        ctx.app.completions.notify_one();
    }
    Ok(reply)
}

/// The caller's own, not deleted image in the request's region, else `InvalidImageId.NotFound`.
fn own_live_image(ctx: &Ctx<'_>, tx: &mut dyn Tx, id: &str) -> Result<Image, ApiError> {
    tx.image(ctx.region_id(), id)?
        .filter(|i| i.owner == Some(ctx.account()) && !i.is_deleted())
        .ok_or_else(|| ApiError::new(Code::InvalidImageIdNotFound))
}

pub fn modify_image_attribute(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let image_id = required(p, "ImageId")?;
    let name = p.get_nonempty("ImageName");
    if let Some(n) = name {
        validate::image_name(n)?;
    }
    let description = p.get_nonempty("Description");
    if let Some(d) = description {
        validate::description(d)?;
    }
    let family = p.get_nonempty("ImageFamily");
    if let Some(f) = family {
        validate::image_family(f)?;
    }
    let status = p
        .get_nonempty("Status")
        .map(|s| match ImageStatus::parse(s) {
            Some(st @ (ImageStatus::Deprecated | ImageStatus::Available)) => Ok(st),
            _ => Err(ApiError::invalid_parameter(
                "Status",
                "must be Deprecated or Available",
            )),
        })
        .transpose()?;
    let boot_mode = p
        .get_nonempty("BootMode")
        .map(|b| BootMode::parse(b).ok_or_else(|| ApiError::new(Code::InvalidBootModeNotSupport)))
        .transpose()?;
    let nvme = p
        .get_nonempty("Features.NvmeSupport")
        .map(|v| match v {
            "supported" | "unsupported" => Ok(v),
            _ => Err(ApiError::invalid_parameter(
                "Features.NvmeSupport",
                "must be supported or unsupported",
            )),
        })
        .transpose()?;
    let imds = p
        .get_nonempty("Features.ImdsSupport")
        .map(|v| match v {
            "v1" | "v2" => Ok(v),
            _ => Err(ApiError::invalid_parameter(
                "Features.ImdsSupport",
                "must be v1 or v2",
            )),
        })
        .transpose()?;
    let license = p.get_nonempty("LicenseType");
    dry_run_gate(p)?;
    ctx.app.store.write(|tx| {
        let mut image = own_live_image(ctx, tx, image_id)?;
        if matches!(image.status, ImageStatus::Creating | ImageStatus::Waiting) {
            return Err(ApiError::new(Code::InvalidStatusImageIsCreating));
        }
        if let Some(n) = name {
            if tx.image_name_taken(ctx.account(), ctx.region_id(), n, Some(&image.id))? {
                return Err(ApiError::new(Code::InvalidImageNameDuplicated)
                    .with_message("The specified Image name has already bean used."));
            }
            image.name = n.to_string();
        }
        if let Some(d) = description {
            image.description = d.to_string();
        }
        if let Some(f) = family {
            image.family = f.to_string();
        }
        match status {
            Some(ImageStatus::Deprecated) => {
                if image.status != ImageStatus::Available {
                    return Err(ApiError::new(Code::ImageStatusNotAvailable));
                }
                if tx.shared_accounts(&image.id)? > 0 {
                    return Err(ApiError::new(Code::ModifyImageUseShared));
                }
                image.status = ImageStatus::Deprecated;
            }
            Some(_) => {
                if image.status != ImageStatus::Deprecated {
                    return Err(ApiError::new(Code::ImageStatusNotDeprecated));
                }
                image.status = ImageStatus::Available;
            }
            None => {}
        }
        if let Some(mode) = boot_mode
            && mode != image.boot_mode
        {
            if tx.instances_using_image(&image.region_id, &image.id)? > 0 {
                return Err(ApiError::new(Code::ModifyBootModeImageUsingByInstance));
            }
            image.boot_mode = mode;
        }
        if let Some(v) = nvme {
            image.nvme_support = v.to_string();
        }
        if let Some(v) = imds {
            if image.imds_support == "v2" && v == "v1" {
                return Err(ApiError::invalid_parameter(
                    "Features.ImdsSupport",
                    "cannot go back from v2 to v1",
                ));
            }
            image.imds_support = v.to_string();
        }
        if let Some(l) = license {
            image.license_type = l.to_string();
        }
        tx.put_image(&image)?;
        Ok(Reply::new())
    })
}

/// DeleteImage's decision on a read snapshot (the action table's `read_first`): a refusal, or
/// an image already deleted, changes nothing, so it needs neither the single writer nor an
/// fsync and answers on the runtime worker; `None` when there is something to delete.
pub fn delete_image_refusal(ctx: &Ctx<'_>) -> Result<Option<Reply>, ApiError> {
    let (image_id, force) = delete_image_params(ctx.params)?;
    let live = ctx
        .app
        .store
        .read(|tx| Ok(deletion_facts(tx, ctx, image_id, force)?.is_some()))?;
    Ok((!live).then(Reply::new))
}

/// Deletes the image, deciding again on the state it changes, so a RunInstances committed
/// since [`delete_image_refusal`] read its snapshot still wins or loses exactly as before.
pub fn delete_image(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (image_id, force) = delete_image_params(ctx.params)?;
    let release = ctx.app.store.write(|tx| {
        let Some((mut image, facts)) = deletion_facts(tx, ctx, image_id, force)? else {
            return Ok(None);
        };
        image.deleted_at = Some(ctx.now);
        tx.put_image(&image)?;
        tx.remove_all_tags(ResourceType::Image, &image.id)?;
        // Instances still running from it (Force), copies and snapshots still reading it need
        // its bytes; decided here, it holds after the commit (references only decrease now).
        if facts.instances_using > 0 {
            return Ok(None);
        }
        blobs::unused_blob_keys(tx, &image)
    })?;
    if let Some(keys) = release {
        blobs::release_keys(ctx.app, ctx.region_id(), &keys);
    }
    Ok(Reply::new())
}

fn delete_image_params(p: &Params) -> Result<(&str, bool), ApiError> {
    let image_id = required(p, "ImageId")?;
    let force = p.bool("Force")?.unwrap_or(false);
    dry_run_gate(p)?;
    Ok((image_id, force))
}

/// The live image DeleteImage may delete and the facts it was allowed on; `None` when it is
/// already deleted (the call succeeds and changes nothing); the ECS refusal otherwise.
fn deletion_facts(
    tx: &mut dyn Tx,
    ctx: &Ctx<'_>,
    image_id: &str,
    force: bool,
) -> Result<Option<(Image, DeletionFacts)>, ApiError> {
    let image = tx.image(ctx.region_id(), image_id)?;
    match rules::delete_target(image.as_ref(), ctx.account())? {
        DeleteTarget::AlreadyDeleted => return Ok(None),
        DeleteTarget::Live => {}
    }
    let Some(image) = image else {
        return Err(ApiError::new(Code::InvalidImageIdNotFound));
    };
    let facts = tx.deletion_facts(&image.region_id, &image.id)?;
    rules::check_delete(&image, &facts, force)?;
    Ok(Some((image, facts)))
}
